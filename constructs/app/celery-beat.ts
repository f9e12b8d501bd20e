import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { WorkloadSizing } from '../../lib/sizing';
import { AppWorkload, AppWorkloadProps } from './app-workload';
import { emptyDir, execProbe, plainEnv } from '../core/pod-spec';
import { lazy } from '../core/lazy';

/** Props of `CeleryBeat`. */
export interface CeleryBeatProps extends AppWorkloadProps {
  /** Object name of the Deployment. @default "celery-beat" */
  readonly name?: string;
  /** Celery application module (`celery -A`). @default "quality_billing" */
  readonly celeryApp?: string;
}

/**
 * Celery beat, the periodic-task scheduler. Two of them would send every task twice, so it is a
 * singleton: one replica, `Recreate` (the old pod is gone before the new one starts), no PDB.
 * Liveness checks that the schedule file was written in the last 10 minutes (beat syncs it
 * every 3); readiness that beat has started and written its pid file.
 */
export class CeleryBeat extends AppWorkload {
  public readonly deployment: k8s.KubeDeployment;
  private readonly poolSize = 2;

  constructor(scope: Construct, id: string, props: CeleryBeatProps = {}) {
    super(scope, id, { name: props.name ?? 'celery-beat', component: 'scheduler' }, 'celeryBeat', props);
    const celeryApp = props.celeryApp ?? 'quality_billing';
    this.addEnv(plainEnv('DATABASE_POOL_SIZE', this.poolSize), plainEnv('DATABASE_MAX_OVERFLOW', 0));
    const main = this.appContainer({
      name: 'beat',
      command: ['celery', '-A', celeryApp, 'beat', '--loglevel', this.logLevel,
        '--schedule', '/var/run/celery/celerybeat-schedule', '--pidfile', '/var/run/celery/beat.pid'],
      volumeMounts: [{ name: 'celery', mountPath: '/var/run/celery' }],
      livenessProbe: execProbe(['sh', '-c', 'find /var/run/celery -name "celerybeat-schedule*" -mmin -10 | grep -q .'],
        { initialDelaySeconds: 300, periodSeconds: 60, timeoutSeconds: 10, failureThreshold: 3 }),
      readinessProbe: execProbe(['test', '-s', '/var/run/celery/beat.pid'], { initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 }),
    });
    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        replicas: 1,
        revisionHistoryLimit: 10,
        selector: { matchLabels: this.selector },
        strategy: { type: 'Recreate' },
        template: {
          metadata: { labels: this.labels },
          spec: lazy(() => this.podSpec(main, { terminationGracePeriodSeconds: 30, volumes: [emptyDir('celery', '64Mi')] })),
        },
      },
    });
  }

  public maxDatabaseConnections(): number {
    return this.poolSize;
  }

  public describeDatabaseConnections(): string {
    return `${this.name} x1 pod x${this.poolSize} pool`;
  }

  public sizings(): WorkloadSizing[] {
    return [this.podSizing('Deployment', 1)];
  }
}
