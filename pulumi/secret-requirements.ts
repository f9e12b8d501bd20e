import { ApiObject, Chart } from 'cdk8s';
import { ExternalSecrets } from '../constructs/core/external-secrets';
import { K8sJson } from '../lib/k8s-objects';
import { SecretRequirement, secretRequirementsOf } from '../lib/secret-requirements';

// The Secret keys a chart reads (lib/secret-requirements.ts, re-exported here where the Pulumi
// layer has always offered them): no Pulumi module, so tools can list them without loading Pulumi.
export * from '../lib/secret-requirements';

/**
 * Every Secret key the chart's objects read (`secretRequirementsOf` over its objects): what the
 * Pulumi program fills from secret config. Secrets an ExternalSecret of the chart has written
 * (`secrets: "external-secrets"`) are not listed: the operator makes them, nothing is asked of config.
 */
export function secretRequirements(chart: Chart): SecretRequirement[] {
  // The ExternalSecrets are made at synth; this reads the objects before it.
  for (const c of chart.node.findAll()) if (c instanceof ExternalSecrets) c.refresh();
  return secretRequirementsOf(chart.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map(o => o.toJson() as K8sJson));
}
