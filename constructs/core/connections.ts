import { k8s } from './k8s';
import { SecretKeyRef } from '../../lib/secrets';
import { Workload } from './workload';

/**
 * A workload that can be connected to a database or broker. The target sets the client's
 * environment, opens the NetworkPolicy path and counts the client in its budgets.
 */
export interface IConnectionClient {
  /** The client's pods, for NetworkPolicy rules. */
  readonly workload: Workload;
  /**
   * Adds environment variables to every container of the client that runs the app, in order. Adding
   * a variable again with the same value does nothing; with another value it throws a ValidationError.
   */
  addEnv(...vars: k8s.EnvVar[]): void;
  /** The most PostgreSQL connections the client can hold at once, rolling-update surge included. */
  maxDatabaseConnections(): number;
  /** How that number is made up, for the connection budget table. */
  describeDatabaseConnections(): string;
  /**
   * Whether its database driver prepares statements on the server (asyncpg's statement cache,
   * psycopg 3's prepare_threshold): a transaction-pooling PgBouncer refuses such a client.
   * @default false
   */
  readonly serverSidePreparedStatements?: boolean;
}

/** Something a client can be connected to with `client.connectTo(target)`. */
export interface IConnectable {
  /** Wires the client: environment variables, NetworkPolicy rules, budgets. */
  bind(client: IConnectionClient): void;
}

/** How clients reach a PostgreSQL database. */
export interface PostgresConnection {
  /** In-cluster DNS name of the Service. */
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** The password of `user`. */
  readonly passwordSecret: SecretKeyRef;
  /** A full `postgresql://user:password@host:port/database` URL (seed 000 §4.2: db-credentials/url). */
  readonly urlSecret: SecretKeyRef;
}

/** How clients reach one logical Redis database. */
export interface RedisConnection {
  readonly host: string;
  readonly port: number;
  /** Logical database number. */
  readonly db: number;
  readonly passwordSecret: SecretKeyRef;
}
