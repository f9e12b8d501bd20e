import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';

/** Arguments of `ImageRepository`. */
export interface ImageRepositoryArgs {
  /** Repository name, e.g. "quality-billing". */
  readonly name: string;
  /** Days an untagged image is kept. @default 14 */
  readonly untaggedDays?: number;
}

/** An ECR repository for an image we build: scanned on push, encrypted, untagged images expired. */
export class ImageRepository extends pulumi.ComponentResource {
  public readonly repository: aws.ecr.Repository;
  public readonly repositoryUrl: pulumi.Output<string>;

  constructor(name: string, args: ImageRepositoryArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('quality-billing:index:ImageRepository', name, {}, opts);
    this.repository = new aws.ecr.Repository(`${name}-repository`, {
      name: args.name,
      imageScanningConfiguration: { scanOnPush: true },
      // Tags move (each `pulumi up` pushes the stack's tag again); the manifests pin digests.
      imageTagMutability: 'MUTABLE',
      encryptionConfigurations: [{ encryptionType: 'AES256' }],
    }, { parent: this });
    new aws.ecr.LifecyclePolicy(`${name}-lifecycle`, {
      repository: this.repository.name,
      policy: JSON.stringify({
        rules: [{
          rulePriority: 1, description: 'expire untagged images',
          selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: args.untaggedDays ?? 14 },
          action: { type: 'expire' },
        }],
      }),
    }, { parent: this });
    this.repositoryUrl = this.repository.repositoryUrl;
    this.registerOutputs({ repositoryUrl: this.repositoryUrl });
  }
}
