import { IConstruct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { SecretKeyRef } from '../../lib/secrets';
import { checkInteger } from '../../lib/validate';
import { IConnectable, IConnectionClient, RedisConnection } from '../core/connections';
import { plainEnv, secretEnv } from '../core/pod-spec';
import { Workload } from '../core/workload';

/** A Redis server clients connect to: one this chart runs (`Redis`) or one it did not create (`Redis.fromConnection`). */
export interface IRedis extends IConstruct {
  /** Whether it never evicts keys, so it may carry Celery's broker queues. */
  readonly usedAsBroker: boolean;
  /** Database 0 as REDIS_URL (seed 000 §2.2). */
  readonly cache: RedisDatabase;
  /** Database 1 as CELERY_BROKER_URL. */
  readonly broker: RedisDatabase;
  /** Database 2 as CELERY_RESULT_BACKEND. */
  readonly results: RedisDatabase;
  /** A logical database handed to clients under `envVar`. */
  database(db: number, envVar: string, options?: { broker?: boolean }): RedisDatabase;
  /** Opens the path from `client`'s pods to the server on `port` (both policies when the server runs here). */
  acceptTrafficFrom(client: Workload, port: number): void;
}

/** One logical Redis database a client connects to (`redis.broker`, `redis.database(n, envVar)`). */
export interface IRedisDatabase extends IConnectable {
  /** How clients reach it. */
  readonly connection: RedisConnection;
  /** The variable that carries the URL to the client. */
  readonly envVar: string;
  /** Whether it holds Celery broker queues. */
  readonly broker: boolean;
}

/**
 * One logical Redis database that a client connects to under an environment variable
 * (`REDIS_URL`, `CELERY_BROKER_URL`, …). Made by `redis.database(n, envVar)`.
 */
export class RedisDatabase implements IRedisDatabase {
  constructor(
    /** The server. */
    public readonly redis: IRedis,
    /** How clients reach it. */
    public readonly connection: RedisConnection,
    /** The variable that carries the URL to the client. */
    public readonly envVar: string,
    /** Whether it holds Celery broker queues. */
    public readonly broker: boolean,
  ) {}

  /**
   * Sets REDIS_PASSWORD from the Secret and `envVar` to a URL that refers to it; Kubernetes
   * expands `$(REDIS_PASSWORD)` when the container starts, so the manifest never holds it.
   */
  public bind(client: IConnectionClient): void {
    if (this.broker && !this.redis.usedAsBroker) {
      throw new ValidationError(this.redis.node.path, 'usedAsBroker', false, `true, because ${client.workload.node.path} uses database ${this.connection.db} as a Celery broker`);
    }
    const c = this.connection;
    client.addEnv(
      secretEnv('REDIS_PASSWORD', c.passwordSecret),
      plainEnv(this.envVar, `redis://:$(REDIS_PASSWORD)@${c.host}:${c.port}/${c.db}`),
    );
    this.redis.acceptTrafficFrom(client.workload, c.port);
  }
}

/** Checks a database number and variable name against `server`'s databases and makes the database. */
export function redisDatabase(server: IRedis, at: { host: string; port: number; passwordSecret: SecretKeyRef; databases: number }, db: number, envVar: string, options: { broker?: boolean } = {}): RedisDatabase {
  checkInteger(server.node.path, 'db', db, 0, at.databases - 1);
  if (!/^[A-Z_][A-Z0-9_]*$/.test(envVar)) throw new ValidationError(server.node.path, 'envVar', envVar, 'an upper-case environment variable name');
  return new RedisDatabase(server, { host: at.host, port: at.port, db, passwordSecret: at.passwordSecret }, envVar, options.broker ?? false);
}
