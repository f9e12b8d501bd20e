/**
 * quality-billing-infra/pulumi: the Pulumi layer — the adapter that applies a chart's deployment
 * plan object by object, the stack's Secrets from secret config, and the AWS components (backup
 * bucket with its least-privilege identity, image repository). Needs the optional peer
 * dependencies @pulumi/pulumi, @pulumi/kubernetes and @pulumi/aws.
 *
 *   import { Cdk8sChart } from 'quality-billing-infra/pulumi';
 */
export * from './cdk8s-chart';
export * from './stack-secrets';
export * from './backup-bucket';
export * from './image-repository';
