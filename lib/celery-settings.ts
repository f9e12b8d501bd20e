import { ValidationError } from './errors';
import { checkInteger } from './validate';

/**
 * Celery worker settings for a Redis broker, rendered as the Python configuration module the
 * worker reads (`CELERY_CONFIG_MODULE`), and the rules that tie them to the pod's grace period.
 *
 * Warm shutdown only loses nothing when three settings agree (Celery 5.2 docs, "Configuration and
 * defaults" and "Tasks: acks_late"; kombu's Redis transport docs):
 * - `task_acks_late`: a message is acknowledged after its task returns, so a worker killed mid-task
 *   leaves the message unacknowledged instead of lost;
 * - `task_reject_on_worker_lost`: a task whose child process dies (OOM kill, SIGKILL) is requeued
 *   rather than marked failed;
 * - `broker_transport_options.visibility_timeout`: an unacknowledged message goes back to its
 *   queue after this many seconds. It must exceed the longest a message can stay unacknowledged
 *   on a live worker (waiting in the prefetch buffer for a busy child, then running), or a task
 *   still running would be delivered a second time.
 */

/** Seconds Celery's warm shutdown needs after the longest task: the main process acks, closes its connections and exits. */
export const SHUTDOWN_MARGIN_SECONDS = 30;
/** kombu's Redis transport default `visibility_timeout` (1 hour). */
export const KOMBU_DEFAULT_VISIBILITY_TIMEOUT = 3600;
/**
 * The seed (000) names no task time limit, and the chart's grace period was 600 s before this
 * setting existed; 540 s keeps that grace (540 + 60 s margin).
 */
export const DEFAULT_TASK_TIME_LIMIT = 540;

/**
 * Keys kombu's Redis transport keeps in the broker database beside the queue lists
 * (kombu/transport/redis.py: `unacked_key`, `unacked_index_key`, `unacked_mutex_key`, and the
 * `_kombu.binding.<exchange>` sets). A queue of one of these names would collide with them.
 */
const KOMBU_RESERVED = ['unacked', 'unacked_index', 'unacked_mutex'];

/**
 * Checks one queue name: letters, digits, "_", "." and "-" (a comma would split `--queues`, and
 * whitespace or control characters — kombu's priority separator is "\x06\x16" — make a Redis
 * list the worker never consumes), at most 200 characters, and none of the keys kombu keeps in the
 * broker database.
 */
export function checkCeleryQueueName(path: string, field: string, name: unknown): string {
  const allowed = 'a queue name of 1-200 letters, digits, "_", "." or "-", not a key kombu keeps in the broker database (unacked, unacked_index, unacked_mutex, _kombu.*)';
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,200}$/.test(name) || KOMBU_RESERVED.includes(name) || name.startsWith('_kombu.')) {
    throw new ValidationError(path, field, name, allowed);
  }
  return name;
}

/** The worker settings that decide whether a task survives a shutdown or a kill. */
export interface CeleryWorkerSettings {
  /** `task_time_limit`: a task running longer is killed (the hard limit). */
  readonly taskTimeLimitSeconds: number;
  /** `broker_transport_options.visibility_timeout`. */
  readonly visibilityTimeoutSeconds: number;
  /** `worker_prefetch_multiplier`: messages reserved per child process. */
  readonly prefetchMultiplier: number;
}

/**
 * The longest a message can stay unacknowledged on a live worker with `task_acks_late`: it waits
 * in the prefetch buffer while every child runs a task (at most one time limit with a prefetch
 * multiplier of 1 and `-O fair`), then runs for at most one time limit.
 */
export function longestUnacknowledgedSeconds(taskTimeLimitSeconds: number, prefetchMultiplier: number): number {
  return (prefetchMultiplier + 1) * taskTimeLimitSeconds;
}

/**
 * Checks and completes the settings: the visibility timeout defaults to kombu's hour, or to the
 * longest unacknowledged time plus the shutdown margin when that is longer, and must exceed it.
 */
export function celeryWorkerSettings(path: string, o: { taskTimeLimitSeconds?: number; visibilityTimeoutSeconds?: number }): CeleryWorkerSettings {
  const taskTimeLimitSeconds = checkInteger(path, 'taskTimeLimitSeconds', o.taskTimeLimitSeconds ?? DEFAULT_TASK_TIME_LIMIT, 1, 86400);
  const prefetchMultiplier = 1;
  const unacked = longestUnacknowledgedSeconds(taskTimeLimitSeconds, prefetchMultiplier);
  const visibilityTimeoutSeconds = checkInteger(path, 'visibilityTimeoutSeconds',
    o.visibilityTimeoutSeconds ?? Math.max(KOMBU_DEFAULT_VISIBILITY_TIMEOUT, unacked + SHUTDOWN_MARGIN_SECONDS), 1, 7 * 86400);
  if (visibilityTimeoutSeconds <= unacked) {
    throw new ValidationError(path, 'visibilityTimeoutSeconds', visibilityTimeoutSeconds,
      `more than ${unacked} s (a reserved task waits up to one task time limit of ${taskTimeLimitSeconds} s, then runs up to another): a shorter timeout delivers running tasks twice`);
  }
  return { taskTimeLimitSeconds, visibilityTimeoutSeconds, prefetchMultiplier };
}

/**
 * The pod's grace period: at least the task time limit plus the shutdown margin, so SIGTERM's warm
 * shutdown can always finish the running task before Kubernetes sends SIGKILL.
 */
export function checkShutdownGracePeriod(path: string, graceSeconds: number | undefined, taskTimeLimitSeconds: number): number {
  const least = taskTimeLimitSeconds + SHUTDOWN_MARGIN_SECONDS;
  const grace = checkInteger(path, 'shutdownGracePeriodSeconds', graceSeconds ?? taskTimeLimitSeconds + 2 * SHUTDOWN_MARGIN_SECONDS, 1, 86400);
  if (grace < least) {
    throw new ValidationError(path, 'shutdownGracePeriodSeconds', grace,
      `at least ${least} s: the task time limit (${taskTimeLimitSeconds} s) plus ${SHUTDOWN_MARGIN_SECONDS} s, or Kubernetes kills a task that warm shutdown was finishing`);
  }
  return grace;
}

/** The module name the worker imports its settings from (`CELERY_CONFIG_MODULE`). */
export const CELERY_SETTINGS_MODULE = 'celery_worker_settings';

/**
 * Renders the Python module. The broker and result URLs come from the environment the
 * connections set (CELERY_BROKER_URL, CELERY_RESULT_BACKEND), so no password is in the module.
 * kombu's `priority_steps` stay at their default [0, 3, 6, 9]: a task sent without a priority (the
 * seed separates priorities by queue: high_priority, low_priority) goes to the list named after
 * its queue, which the autoscaler counts; one sent with priority p ≥ 3 goes to
 * "<queue>\x06\x16<step>", which the workers consume but the trigger does not count. Narrowing
 * the steps here would make workers ignore such lists filled by a producer with the defaults.
 */
export function renderCelerySettingsModule(s: CeleryWorkerSettings): string {
  return [
    '# Generated by quality-billing-infra: edit the CeleryWorker props, not this file.',
    'import os',
    '',
    "broker_url = os.environ['CELERY_BROKER_URL']",
    "result_backend = os.environ.get('CELERY_RESULT_BACKEND')",
    '# Acknowledge after the task returns; requeue a task whose child process was killed.',
    'task_acks_late = True',
    'task_reject_on_worker_lost = True',
    `task_time_limit = ${s.taskTimeLimitSeconds}`,
    `worker_prefetch_multiplier = ${s.prefetchMultiplier}`,
    '# An unacknowledged task returns to its queue after this many seconds; it must outlast the longest task.',
    `broker_transport_options = {'visibility_timeout': ${s.visibilityTimeoutSeconds}}`,
    '',
  ].join('\n');
}
