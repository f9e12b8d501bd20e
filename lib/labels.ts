/** The name the recommended labels put in `app.kubernetes.io/part-of` by default. */
export const PART_OF = 'quality-billing';
/** `app.kubernetes.io/managed-by`: the tool that renders the objects. */
export const MANAGED_BY = 'cdk8s';

/** Kubernetes recommended labels (kubernetes.io/docs/concepts/overview/working-with-objects/common-labels). */
export interface RecommendedLabels {
  readonly name: string;
  readonly instance: string;
  readonly component: string;
  readonly partOf?: string;
  readonly version: string;
}

/** Renders the recommended `app.kubernetes.io/*` labels. */
export function recommendedLabels(l: RecommendedLabels): Record<string, string> {
  return {
    'app.kubernetes.io/name': l.name,
    'app.kubernetes.io/instance': sanitizeLabelValue(l.instance),
    'app.kubernetes.io/component': l.component,
    'app.kubernetes.io/part-of': l.partOf ?? PART_OF,
    'app.kubernetes.io/version': sanitizeLabelValue(l.version),
    'app.kubernetes.io/managed-by': MANAGED_BY,
  };
}

/** The subset that selects a workload's pods: stable across versions, so selectors never change. */
export function selectorLabels(l: RecommendedLabels): Record<string, string> {
  return {
    'app.kubernetes.io/name': l.name,
    'app.kubernetes.io/instance': sanitizeLabelValue(l.instance),
    'app.kubernetes.io/component': l.component,
  };
}

/** Label values allow 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric. */
export function sanitizeLabelValue(v: string): string {
  const cleaned = v.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 63);
  return cleaned.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
}
