import { ValidationError } from '../errors';
import { SecretKeyRef } from '../secrets';
import { checkCidr, checkOneOf } from '../validate';

/**
 * Where backups go: a bucket and prefix on AWS S3 or any S3-compatible storage (MinIO, Ceph,
 * OSS's S3 API), with credentials read from a Secret.
 */
export interface S3Location {
  /** Bucket name (S3 rules: 3-63 lower-case letters, digits, "-" and "."). */
  readonly bucket: string;
  /** Folder inside the bucket, without leading or trailing "/"; e.g. "prod/postgres". */
  readonly prefix: string;
  /** Region the bucket lives in. */
  readonly region: string;
  /** `https://host[:port]` of S3-compatible storage. @default - AWS S3 of `region` */
  readonly endpoint?: string;
  /** Path-style URLs (`host/bucket/key`), which most S3-compatible servers need. @default - true when `endpoint` is set */
  readonly pathStyle?: boolean;
  /** Access key id. */
  readonly accessKeyId: SecretKeyRef;
  /** Secret access key. */
  readonly secretAccessKey: SecretKeyRef;
  /** Addresses the storage has, for the NetworkPolicy egress rule (hostnames cannot be used there). @default "0.0.0.0/0" */
  readonly cidr?: string;
}

/** A checked S3Location with the parts the tools need. */
export interface ResolvedS3Location extends S3Location {
  readonly endpointHost: string;
  readonly endpointPort: number;
  readonly pathStyle: boolean;
  readonly cidr: string;
}

/** Checks an S3Location; errors name `path` and `field`.<sub-field>. */
export function resolveS3Location(path: string, field: string, s: S3Location): ResolvedS3Location {
  if (typeof s.bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s.bucket) || s.bucket.includes('..')) {
    throw new ValidationError(path, `${field}.bucket`, s.bucket, 'an S3 bucket name: 3-63 lower-case letters, digits, "-" or "."');
  }
  if (typeof s.prefix !== 'string' || !/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(s.prefix)) {
    throw new ValidationError(path, `${field}.prefix`, s.prefix, 'a key prefix such as "prod/postgres": letters, digits, "_", "-", "." separated by single "/", none at either end');
  }
  if (typeof s.region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d$|^[a-z0-9-]{2,32}$/.test(s.region)) {
    throw new ValidationError(path, `${field}.region`, s.region, 'a region name such as "us-east-1"');
  }
  let endpointHost = `s3.${s.region}.amazonaws.com`;
  let endpointPort = 443;
  if (s.endpoint !== undefined) {
    let url: URL | undefined;
    try { url = new URL(s.endpoint); } catch { url = undefined; }
    if (!url || url.protocol !== 'https:' || url.pathname !== '/' || url.search || url.username || !s.endpoint.match(/^https:\/\/[^/]+\/?$/)) {
      throw new ValidationError(path, `${field}.endpoint`, s.endpoint, 'an HTTPS endpoint "https://host[:port]" (backups never travel in clear text)');
    }
    endpointHost = url.hostname;
    endpointPort = url.port ? Number(url.port) : 443;
  }
  const cidr = s.cidr ?? '0.0.0.0/0';
  checkCidr(path, `${field}.cidr`, cidr);
  if (!(s.accessKeyId instanceof SecretKeyRef)) throw new ValidationError(path, `${field}.accessKeyId`, s.accessKeyId, 'a SecretKeyRef');
  if (!(s.secretAccessKey instanceof SecretKeyRef)) throw new ValidationError(path, `${field}.secretAccessKey`, s.secretAccessKey, 'a SecretKeyRef');
  if (s.pathStyle !== undefined) checkOneOf(path, `${field}.pathStyle`, String(s.pathStyle), ['true', 'false']);
  return { ...s, endpointHost, endpointPort, pathStyle: s.pathStyle ?? s.endpoint !== undefined, cidr };
}
