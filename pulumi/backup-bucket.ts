import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';

/** Arguments of `BackupBucket`. */
export interface BackupBucketArgs {
  /** Bucket name (globally unique). */
  readonly bucketName: pulumi.Input<string>;
  /** Key prefix the backups of this stack live under, e.g. "prod/postgres". */
  readonly prefix: string;
  /** Days logical backups are kept (PostgresBackup's retentionDays). */
  readonly logicalRetentionDays: number;
  /** Days a deleted or overwritten object version is kept before it is purged. @default 7 */
  readonly noncurrentVersionDays?: number;
  /** Further prefixes the backup identity may list, read, write and delete under (a configuration export's folder). @default - none */
  readonly extraPrefixes?: readonly string[];
  /** IAM path of the backup identity (the system's name). @default "/quality-billing/" */
  readonly iamPath?: string;
}

/**
 * The S3 bucket of the database backups: SSE-S3 encryption, versioning, every public access
 * blocked, TLS-only bucket policy, and lifecycle rules matching the backup retentions. It also
 * creates the backup jobs' identity: an IAM user whose only permissions are listing, reading,
 * writing and deleting under the stack's prefix, and an access key for it (a secret Output).
 *
 * The pgBackRest folder gets no age-based expiry on purpose: pgBackRest expires its own backups
 * and WAL, and deleting its files by age behind its back can break the chain a restore needs.
 */
export class BackupBucket extends pulumi.ComponentResource {
  public readonly bucket: aws.s3.Bucket;
  public readonly bucketName: pulumi.Output<string>;
  public readonly accessKeyId: pulumi.Output<string>;
  /** Secret Output. */
  public readonly secretAccessKey: pulumi.Output<string>;
  public readonly policyDocument: pulumi.Output<string>;

  constructor(name: string, args: BackupBucketArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('quality-billing:index:BackupBucket', name, {}, opts);
    const parent = { parent: this };
    const trim = (p: string) => p.replace(/^\/+|\/+$/g, '');
    const prefix = trim(args.prefix);
    const prefixes = [prefix, ...(args.extraPrefixes ?? []).map(trim)];
    this.bucket = new aws.s3.Bucket(`${name}-bucket`, { bucket: args.bucketName, forceDestroy: false }, parent);
    const bucket = this.bucket.id;
    new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-encryption`, {
      bucket,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, bucketKeyEnabled: true }],
    }, parent);
    new aws.s3.BucketVersioning(`${name}-versioning`, { bucket, versioningConfiguration: { status: 'Enabled' } }, parent);
    new aws.s3.BucketPublicAccessBlock(`${name}-public-access`, {
      bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
    }, parent);
    const noncurrentDays = args.noncurrentVersionDays ?? 7;
    new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, {
      bucket,
      rules: [
        {
          // A backstop behind the backup job's own retention: a logical backup never outlives it.
          id: 'logical-backups-retention',
          status: 'Enabled',
          filter: { prefix: `${prefix}/logical/` },
          expiration: { days: args.logicalRetentionDays },
          noncurrentVersionExpiration: { noncurrentDays },
        },
        {
          id: 'pgbackrest-noncurrent-versions',
          status: 'Enabled',
          filter: { prefix: `${prefix}/pgbackrest/` },
          noncurrentVersionExpiration: { noncurrentDays },
        },
        { id: 'abort-incomplete-uploads', status: 'Enabled', filter: { prefix: `${prefix}/` }, abortIncompleteMultipartUpload: { daysAfterInitiation: 2 } },
      ],
    }, parent);
    new aws.s3.BucketPolicy(`${name}-tls-only`, {
      bucket,
      policy: pulumi.jsonStringify({
        Version: '2012-10-17',
        Statement: [{
          Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 's3:*',
          Resource: [this.bucket.arn, pulumi.interpolate`${this.bucket.arn}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }],
      }),
    }, parent);

    const user = new aws.iam.User(`${name}-writer`, { path: args.iamPath ?? '/quality-billing/' }, parent);
    this.policyDocument = pulumi.jsonStringify({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'ListPrefix', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [this.bucket.arn], Condition: { StringLike: { 's3:prefix': prefixes.flatMap(p => [`${p}/*`, `${p}/`]) } } },
        { Sid: 'ObjectsUnderPrefix', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: prefixes.map(p => pulumi.interpolate`${this.bucket.arn}/${p}/*`) },
      ],
    });
    new aws.iam.UserPolicy(`${name}-writer-policy`, { user: user.name, policy: this.policyDocument }, parent);
    const key = new aws.iam.AccessKey(`${name}-writer-key`, { user: user.name }, { ...parent, additionalSecretOutputs: ['secret'] });
    this.bucketName = this.bucket.bucket;
    this.accessKeyId = key.id;
    this.secretAccessKey = pulumi.secret(key.secret);
    this.registerOutputs({ bucketName: this.bucketName });
  }
}
