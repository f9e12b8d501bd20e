import { Construct } from 'constructs';
import { SecretKeyRef } from '../../lib/secrets';
import { checkExternalAddress, checkInteger, checkPort } from '../../lib/validate';
import { Workload } from '../core/workload';
import { IRedis, RedisDatabase, redisDatabase } from './redis-database';

/** Props of `Redis.fromConnection`: a Redis server this chart does not run. */
export interface ExternalRedisProps {
  /** Host name or IPv4 address clients connect to. */
  readonly host: string;
  /** Server port. @default 6379 */
  readonly port?: number;
  /** Password clients authenticate with. @default - key "password" of Secret "redis-credentials" */
  readonly passwordSecret?: SecretKeyRef;
  /** Address block the server is reached at, for the clients' NetworkPolicy egress. Required when `host` is a name. @default - "<host>/32" when `host` is an IPv4 address */
  readonly cidr?: string;
  /** Logical databases the server has. @default 16 */
  readonly databases?: number;
  /**
   * Whether the server never evicts keys (`maxmemory-policy noeviction`), so it may carry Celery's
   * broker queues. We cannot check a server we do not run: say what it is configured to do.
   * @default true
   */
  readonly usedAsBroker?: boolean;
}

/**
 * A Redis server this chart did not create (a managed cache), made by `Redis.fromConnection`.
 * Clients connect to its databases with `connectTo` and get the same variables as from a `Redis`,
 * plus NetworkPolicy egress to its address block; nothing runs here.
 */
export class ExternalRedis extends Construct implements IRedis {
  public readonly usedAsBroker: boolean;
  public readonly cache: RedisDatabase;
  public readonly broker: RedisDatabase;
  public readonly results: RedisDatabase;
  /** Address block the clients' egress allows. */
  public readonly cidr: string;
  private readonly at: { host: string; port: number; passwordSecret: SecretKeyRef; databases: number };

  constructor(scope: Construct, id: string, props: ExternalRedisProps) {
    super(scope, id);
    const path = this.node.path;
    const { host, cidr } = checkExternalAddress(path, props.host, props.cidr);
    this.cidr = cidr;
    this.usedAsBroker = props.usedAsBroker ?? true;
    this.at = {
      host,
      port: checkPort(path, 'port', props.port ?? 6379),
      passwordSecret: props.passwordSecret ?? SecretKeyRef.of('redis-credentials', 'password', path),
      databases: checkInteger(path, 'databases', props.databases ?? 16, 3, 1024),
    };
    this.cache = this.database(0, 'REDIS_URL');
    this.broker = this.database(1, 'CELERY_BROKER_URL', { broker: true });
    this.results = this.database(2, 'CELERY_RESULT_BACKEND');
  }

  public database(db: number, envVar: string, options: { broker?: boolean } = {}): RedisDatabase {
    return redisDatabase(this, this.at, db, envVar, options);
  }

  /** Egress from `client` to the server's address block (there are no server pods here to admit it). */
  public acceptTrafficFrom(client: Workload, port: number): void {
    client.allowEgressTo({ ipBlock: { cidr: this.cidr } }, [port]);
  }
}
