// Pulumi entry point (Pulumi.yaml `main`, compiled to build/bin/pulumi.js): `pulumi up --stack
// <env>`. The program is in pulumi-program.ts so tests can run it under Pulumi's mocks.
import { program } from './pulumi-program';

const { outputs } = program();
export const system = outputs.system;
export const environment = outputs.environment;
export const namespace = outputs.namespace;
export const apiEndpoint = outputs.apiEndpoint;
export const grafanaUrl = outputs.grafanaUrl;
export const backupBucket = outputs.backupBucket;
export const appImages = outputs.appImages;
export const appImage = outputs.appImage;
