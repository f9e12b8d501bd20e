import { readFileSync } from 'fs';
import { join } from 'path';
import { architectureMermaid, architecturePage } from '../bin/docs';
import { ENVIRONMENTS } from '../lib/environments';
import { synthStack } from './helpers';

describe('architecture diagrams', () => {
  it.each([ENVIRONMENTS.prod, ENVIRONMENTS.staging].map(e => [e.name, e] as const))('docs/architecture-%s.md is current (run npm run docs)', (name, env) => {
    const committed = readFileSync(join(__dirname, '..', 'docs', `architecture-${name}.md`), 'utf8');
    expect(committed).toBe(architecturePage(env));
  });

  it('draws every declared connection, the edge and the scrapes', () => {
    const mermaid = architectureMermaid(synthStack(ENVIRONMENTS.prod).objects);
    expect(mermaid).toContain('quality_billing_edge -->|8000| quality_billing_api');
    expect(mermaid).toContain('quality_billing_api -->|5432| quality_billing_postgres');
    expect(mermaid).toContain('internet -->|8080,8443| quality_billing_edge');
    expect(mermaid).toContain('quality_billing_prometheus -.->|9187| quality_billing_postgres');
    expect(mermaid).toContain('quality_billing_filebeat -->|9200| quality_billing_elasticsearch');
  });

  it('shows the ingress controller instead of the edge where the environment uses an Ingress', () => {
    const mermaid = architectureMermaid(synthStack(ENVIRONMENTS.staging).objects);
    expect(mermaid).toContain('ns__ingress_nginx -->|8000| quality_billing_api');
    expect(mermaid).not.toContain('quality_billing_edge');
  });
});
