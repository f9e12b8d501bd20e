/**
 * cdk8s-plus-28's generated Kubernetes 1.28 classes and types (`k8s.KubeDeployment`,
 * `k8s.PodSpec`, …), which every construct builds on. From their own module rather than the
 * package's index, which also loads cdk8s-plus's 28 L2 modules that nothing here uses; and
 * re-exported once from here, because a transpile-only run (esbuild, `npm run synth`) copies all
 * ~2,000 exports of a namespace import into a new object in every file that has one.
 */
export * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
