import { ValidationError } from './errors';

/**
 * Small checks shared by every construct. Each takes the construct path and the field name so
 * that the error it throws points at the exact prop.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes object name that must be a DNS-1123 label (namespaces, services, container names). */
export function checkDnsLabel(path: string, field: string, value: string): string {
  if (typeof value !== 'string' || value.length > 63 || !DNS1123_LABEL.test(value)) {
    throw new ValidationError(path, field, value,
      'a DNS-1123 label: at most 63 lower-case letters, digits or "-", starting and ending with a letter or digit');
  }
  return value;
}

/** A Kubernetes object name that must be a DNS-1123 subdomain (Secrets, ConfigMaps). */
export function checkDnsSubdomain(path: string, field: string, value: string): string {
  if (typeof value !== 'string' || value.length > 253 || !DNS1123_SUBDOMAIN.test(value)) {
    throw new ValidationError(path, field, value,
      'a DNS-1123 subdomain: at most 253 lower-case letters, digits, "-" or ".", starting and ending with a letter or digit');
  }
  return value;
}

/** An integer within an inclusive range. */
export function checkInteger(path: string, field: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw new ValidationError(path, field, value, range);
  }
  return value;
}

/** A TCP port number. */
export function checkPort(path: string, field: string, value: number): number {
  return checkInteger(path, field, value, 1, 65535);
}

/** A replica count: at least one (scale a workload to zero with kubectl, not through its props). */
export function checkReplicas(path: string, field: string, value: number): number {
  return checkInteger(path, field, value, 1, 1000);
}

/** One of a fixed set of strings. */
export function checkOneOf<T extends string>(path: string, field: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ValidationError(path, field, value, `one of ${allowed.map(a => JSON.stringify(a)).join(', ')}`);
  }
  return value as T;
}

/** Where the Kubernetes API server listens, for the pods that call it (NetworkPolicy egress). */
export interface ApiServerAddress {
  /** IPv4 CIDR of the API server's addresses. */
  readonly cidr: string;
  /** Its ports. */
  readonly ports: readonly number[];
}

/** Any IPv4 address: the default where an address is cluster-specific (the API server, the nodes). */
export const ANY_ADDRESS = '0.0.0.0/0';

/** The default: the API server's address is cluster-specific, so any address on 443 and 6443. */
export const ANY_API_SERVER: ApiServerAddress = { cidr: ANY_ADDRESS, ports: [443, 6443] };

/** Checks an API server address (the default when none is given); errors name `path` and the field. */
export function checkApiServer(path: string, value: ApiServerAddress = ANY_API_SERVER): ApiServerAddress {
  checkCidr(path, 'apiServer.cidr', value.cidr, '10.0.0.1/32');
  value.ports.forEach(p => checkInteger(path, 'apiServer.ports', p, 1, 65535));
  return value;
}

/** An IPv4 address block ("10.0.0.0/8"), as a NetworkPolicy `ipBlock` takes it. */
export function checkCidr(path: string, field: string, value: string, example = '10.0.0.0/8'): string {
  if (typeof value !== 'string' || !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(value)) throw new ValidationError(path, field, value, `an IPv4 CIDR such as "${example}"`);
  return value;
}

/**
 * A server outside the cluster that pods reach: its host (an IPv4 address or a DNS name) and the
 * address block NetworkPolicy egress allows. A NetworkPolicy cannot name a host, so a name needs
 * `cidr`; an IPv4 host defaults to itself ("<host>/32").
 */
export function checkExternalAddress(path: string, host: string, cidr: string | undefined): { readonly host: string; readonly cidr: string } {
  const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
  if (!ipv4) checkDnsSubdomain(path, 'host', host);
  if (cidr === undefined && !ipv4) {
    throw new ValidationError(path, 'cidr', undefined, `the address block "${host}" resolves to (e.g. the database subnet), or "0.0.0.0/0" for any address: a NetworkPolicy cannot name a host`);
  }
  return { host, cidr: checkCidr(path, 'cidr', cidr ?? `${host}/32`) };
}
