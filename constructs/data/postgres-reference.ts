import { k8s } from '../core/k8s';
import { IConstruct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { ImageRef } from '../../lib/images';
import { ByteQuantity } from '../../lib/quantity';
import { ConnectionBudget, ConnectionBudgetLine } from '../../lib/tuning';
import { checkInteger } from '../../lib/validate';
import { IConnectable, IConnectionClient, PostgresConnection } from '../core/connections';
import { Workload } from '../core/workload';

/**
 * A PostgreSQL server clients and backups can use: one this chart runs (`Postgres`) or one it
 * did not create (`Postgres.fromConnection`, e.g. a managed database).
 */
export interface IPostgres extends IConnectable, IConstruct {
  /** Prefix of the objects made for the server (backups are "<name>-backup", …). */
  readonly name: string;
  /** How clients reach it. */
  readonly connection: PostgresConnection;
  /** Image whose client tools (pg_dump, pg_restore, psql) match the server's version. */
  readonly image: ImageRef;
  /** Size of the server's data volume, which backup jobs size their scratch space from; unknown for a server we do not run. */
  readonly storage?: ByteQuantity;
  /** The server's pods, when this chart runs them (NetworkPolicy ingress, the backup scripts' home). */
  readonly workload?: Workload;
  /** The NetworkPolicy peer `client`'s pods reach the server at: its pods, or its address block. */
  peerFor(client: Workload): k8s.NetworkPolicyPeer;
  /** Counts connections of a client that is not a `connectTo` client (backup and restore jobs). */
  reserveConnections(client: string, connections: number): void;
  /** Every client's most connections. */
  connectionBudget(): ConnectionBudget;
}

/** PostgreSQL identifiers we create: lower-case, so they never need quoting. */
export function checkIdentifier(path: string, field: string, value: string): string {
  if (typeof value !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(value)) {
    throw new ValidationError(path, field, value, 'a lower-case PostgreSQL identifier: letters, digits and "_", at most 63, not starting with a digit');
  }
  return value;
}

/** Who holds connections to one PostgreSQL server: its `connectTo` clients and reserved lines (backup jobs). */
export class PostgresClients {
  private readonly clients: IConnectionClient[] = [];
  private readonly reservations: ConnectionBudgetLine[] = [];

  /** `path` names the server in errors. */
  constructor(private readonly path: string) {}

  /** Records a `connectTo` client; each connects once. */
  public add(client: IConnectionClient): void {
    if (this.clients.includes(client)) throw new ValidationError(this.path, 'connection', client.workload.node.path, 'each client connected once');
    this.clients.push(client);
  }

  /** Records connections of a client that is not a `connectTo` client. */
  public reserve(client: string, connections: number): void {
    this.reservations.push({ client, connections: checkInteger(this.path, 'reserveConnections', connections, 1, 10000) });
  }

  /** One budget line per `connectTo` client: the most connections it can hold. */
  public clientLines(): ConnectionBudgetLine[] {
    return this.clients.map(c => ({ client: c.describeDatabaseConnections(), connections: c.maxDatabaseConnections() }));
  }

  /** The reserved lines. */
  public reservedLines(): ConnectionBudgetLine[] {
    return [...this.reservations];
  }
}
