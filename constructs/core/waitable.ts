import { k8s } from './k8s';
import { IConstruct } from 'constructs';
import { ImageRef } from '../../lib/images';
import { ResourceSpec } from '../../lib/sizing';
import { Workload } from './workload';

/**
 * Something pods wait for before they start (the migration Job): `waiter.waitFor(it)` calls
 * `bindWaiter` once and puts what it returns into every pod of the waiter.
 */
export interface IWaitable extends IConstruct {
  /** Lets `waiter`'s pods wait (NetworkPolicy egress, RBAC) and says what they need to. */
  bindWaiter(waiter: Workload): WaitBinding;
}

/** What a waiting pod gets from the thing it waits for. */
export interface WaitBinding {
  /** The ServiceAccount the waiting pods run as (its token is mounted). */
  readonly serviceAccountName: string;
  /** Pod volumes the init container mounts. */
  readonly volumes: readonly k8s.Volume[];
  /** The init container that blocks the pod until the wait is over, run from the waiter's `image` with `resources`. */
  initContainer(image: ImageRef, resources: ResourceSpec): k8s.Container;
}
