import { ComponentName, RESOURCE_PRESETS, StoragePreset, STORAGE_PRESETS } from '../../lib/presets';
import { ByteQuantity } from '../../lib/quantity';
import { ResourceQuantities, resources, ResourceSpec } from '../../lib/sizing';
import { tier as lookupTier, TierName } from '../../lib/tiers';
import { checkDnsSubdomain } from '../../lib/validate';

/** Props every component construct shares. */
export interface ComponentProps {
  /** Object name of its workload and Service. @default - the component's own name ("postgres", "grafana", …) */
  readonly name?: string;
  /** Hardware tier whose resource (and storage) presets apply. @default "recommended" */
  readonly tier?: TierName;
  /** Pinned image, `repository:tag` or `repository@sha256:…`. @default - the image catalog's entry for the component */
  readonly image?: string;
  /** Requests and limits of the main container. @default - the tier's preset for the component */
  readonly resources?: ResourceQuantities;
}

/** Props of components that keep data on a volume. */
export interface PersistentComponentProps extends ComponentProps {
  /** Size of the data volume of each replica. @default - the tier's storage preset for the component (`STORAGE_PRESETS`) */
  readonly storage?: string;
  /** StorageClass of the volume. @default - the cluster's default StorageClass */
  readonly storageClassName?: string;
}

/** The shared props, checked and resolved against the tier's presets. */
export interface ResolvedComponent {
  readonly tier: TierName;
  readonly resources: ResourceSpec;
}

/** Checks the shared props; every error names `path` and the field. */
export function resolveComponent(path: string, props: ComponentProps, component: ComponentName): ResolvedComponent {
  const t = lookupTier(props.tier ?? 'recommended', path).name;
  return { tier: t, resources: resources(props.resources ?? RESOURCE_PRESETS[t][component], path, 'resources') };
}

/** Checks the volume props of a persistent component. */
export function resolveStorage(path: string, props: PersistentComponentProps, tierName: TierName, component: keyof StoragePreset): ByteQuantity {
  if (props.storageClassName !== undefined) checkDnsSubdomain(path, 'storageClassName', props.storageClassName);
  return ByteQuantity.parse(props.storage ?? STORAGE_PRESETS[tierName][component], path, 'storage');
}
