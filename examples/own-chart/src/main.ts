import { App } from 'cdk8s';
import { OrdersChart } from './orders-chart';

// `npm run synth` writes manifests/orders.k8s.yaml.
const app = new App({ outdir: 'manifests' });
new OrdersChart(app, 'orders', { image: 'registry.example.com/orders:3.1.4' });
app.synth();
