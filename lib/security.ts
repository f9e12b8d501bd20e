/**
 * The Pod Security Standards "restricted" profile as data (kubernetes.io/docs/concepts/security/
 * pod-security-standards): non-root, no privilege escalation, all capabilities dropped, the
 * runtime's default seccomp profile, a read-only root filesystem. Constructs map it onto
 * cdk8s-plus; the policy tests check the synthesized pods against the same rules.
 */
export interface RestrictedSecurityContext {
  readonly runAsNonRoot: true;
  readonly runAsUser: number;
  readonly runAsGroup: number;
  readonly allowPrivilegeEscalation: false;
  readonly privileged: false;
  readonly readOnlyRootFilesystem: boolean;
  readonly capabilitiesDrop: readonly ['ALL'];
  readonly seccompProfile: 'RuntimeDefault';
}

/** UID/GID of the official postgres and redis images' unprivileged users. */
export const DATABASE_IMAGE_UID = 999;
/** UID/GID the application containers run as (the Dockerfile's non-root user). */
export const APP_UID = 10001;
/** UID the Prometheus exporters' images declare (nobody). */
export const EXPORTER_UID = 65534;

/** The restricted context for a container running as `uid`. */
export function restrictedSecurityContext(uid: number, options: { readOnlyRootFilesystem?: boolean } = {}): RestrictedSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: options.readOnlyRootFilesystem ?? true,
    capabilitiesDrop: ['ALL'],
    seccompProfile: 'RuntimeDefault',
  };
}
