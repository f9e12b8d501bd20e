import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { AppService, Postgres, SecretKeyRef, TierName } from 'quality-billing-infra';

/** Props of `OrdersChart`. */
export interface OrdersChartProps extends ChartProps {
  /** The orders API image, pinned. */
  readonly image: string;
  /** Hardware tier of the cluster the chart runs on. @default "minimum" */
  readonly tier?: TierName;
}

/**
 * A team's own service built from two library constructs: the orders API and its PostgreSQL.
 * `connectTo` wires DATABASE_URL from the Secret, the NetworkPolicies and max_connections.
 */
export class OrdersChart extends Chart {
  public readonly db: Postgres;
  public readonly api: AppService;

  constructor(scope: Construct, id: string, props: OrdersChartProps) {
    super(scope, id, { namespace: 'orders', ...props });
    const tier = props.tier ?? 'minimum';
    this.db = new Postgres(this, 'Db', {
      name: 'orders-db', tier, database: 'orders', user: 'orders',
      passwordSecret: SecretKeyRef.of('orders-db', 'password'), urlSecret: SecretKeyRef.of('orders-db', 'url'),
    });
    this.api = new AppService(this, 'Api', { name: 'orders-api', replicas: 2, tier, settings: { image: props.image } })
      .connectTo(this.db);
  }
}
