import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { ByteQuantity } from '../../lib/quantity';
import { SecretKeyRef } from '../../lib/secrets';
import { ConnectionBudget, connectionBudget } from '../../lib/tuning';
import { checkDnsLabel, checkExternalAddress, checkInteger, checkPort } from '../../lib/validate';
import { IConnectionClient, PostgresConnection } from '../core/connections';
import { secretEnv } from '../core/pod-spec';
import { validateAtSynth } from '../core/validation';
import { Workload } from '../core/workload';
import { checkIdentifier, IPostgres, PostgresClients } from './postgres-reference';

/** Props of `Postgres.fromConnection`: a PostgreSQL server this chart does not run. */
export interface ExternalPostgresProps {
  /** Host name or IPv4 address clients connect to (a managed database's endpoint). */
  readonly host: string;
  /** Server port. @default 5432 */
  readonly port?: number;
  /** Database clients and backups use. */
  readonly database: string;
  /** User clients and backups log in as. */
  readonly user: string;
  /** Password of `user`. @default - key "password" of Secret "db-credentials" */
  readonly passwordSecret?: SecretKeyRef;
  /** Connection URL handed to clients as DATABASE_URL. @default - key "url" of Secret "db-credentials" */
  readonly urlSecret?: SecretKeyRef;
  /**
   * Address block the server is reached at, for the clients' NetworkPolicy egress (a
   * NetworkPolicy cannot name a host). Required when `host` is a name; pass "0.0.0.0/0" to allow
   * any address on `port`.
   * @default - "<host>/32" when `host` is an IPv4 address
   */
  readonly cidr?: string;
  /** Prefix of the objects made for the server (backups are "<name>-backup"). @default "postgres" */
  readonly name?: string;
  /** Image with the client tools matching the server's major version (pg_dump, psql). @default - the catalog's postgres */
  readonly image?: string;
  /** Size of the server's data, which sizes backup scratch volumes. @default - unknown: each backup must be given its `scratchSize` */
  readonly storage?: string;
  /**
   * The server's `max_connections`, as whoever runs it configured it: when given, synth fails
   * if the clients declared here need more. We do not set it (the server is not ours).
   * @default - not checked
   */
  readonly maxConnections?: number;
}

/**
 * A PostgreSQL server this chart did not create (a managed database, one run elsewhere), made by
 * `Postgres.fromConnection`. Clients connect to it with `connectTo` like to a `Postgres`: they get
 * DATABASE_URL from the Secret and NetworkPolicy egress to its address block. It runs nothing
 * here, so there is no server-side NetworkPolicy, no postgresql.conf and no memory check; the
 * connection budget is held against `maxConnections` only when it is given.
 */
export class ExternalPostgres extends Construct implements IPostgres {
  public readonly name: string;
  public readonly connection: PostgresConnection;
  public readonly image: ImageRef;
  public readonly storage?: ByteQuantity;
  /** Address block the clients' egress allows. */
  public readonly cidr: string;
  /** The server's `max_connections`, when known. */
  public readonly maxConnections?: number;
  private readonly clients: PostgresClients;

  constructor(scope: Construct, id: string, props: ExternalPostgresProps) {
    super(scope, id);
    const path = this.node.path;
    this.clients = new PostgresClients(path);
    this.name = checkDnsLabel(path, 'name', props.name ?? 'postgres');
    const { host, cidr } = checkExternalAddress(path, props.host, props.cidr);
    this.cidr = cidr;
    this.image = ImageRef.parse(props.image ?? IMAGE_CATALOG.postgres.toString(), path, 'image');
    if (props.storage !== undefined) this.storage = ByteQuantity.parse(props.storage, path, 'storage');
    if (props.maxConnections !== undefined) this.maxConnections = checkInteger(path, 'maxConnections', props.maxConnections, 1, 100000);
    this.connection = {
      host,
      port: checkPort(path, 'port', props.port ?? 5432),
      database: checkIdentifier(path, 'database', props.database),
      user: checkIdentifier(path, 'user', props.user),
      passwordSecret: props.passwordSecret ?? SecretKeyRef.of('db-credentials', 'password', path),
      urlSecret: props.urlSecret ?? SecretKeyRef.of('db-credentials', 'url', path),
    };
    // Clients connect after construction: their budget is checked at synth.
    validateAtSynth(this, () => {
      const max = this.maxConnections;
      const budget = this.connectionBudget();
      if (max !== undefined && budget.maxConnections > max) {
        throw new ValidationError(path, 'maxConnections', max, `at least ${budget.maxConnections}: the declared clients hold ${budget.clients} connections (${budget.lines.map(l => `${l.client}: ${l.connections}`).join(', ')}) plus ${budget.headroom} headroom and ${budget.superuserReserved} superuser-reserved`);
      }
    });
  }

  /** DATABASE_URL from the URL Secret, egress to the server's address block, and a line in the budget. */
  public bind(client: IConnectionClient): void {
    this.clients.add(client);
    client.addEnv(secretEnv('DATABASE_URL', this.connection.urlSecret));
    client.workload.allowEgressTo(this.peerFor(client.workload), [this.connection.port]);
  }

  public peerFor(_client: Workload): k8s.NetworkPolicyPeer {
    return { ipBlock: { cidr: this.cidr } };
  }

  public reserveConnections(client: string, connections: number): void {
    this.clients.reserve(client, connections);
  }

  /** The declared clients' connections (the server's own helpers are not ours to count). */
  public connectionBudget(): ConnectionBudget {
    return connectionBudget([...this.clients.clientLines(), ...this.clients.reservedLines()]);
  }
}
