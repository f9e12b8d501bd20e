import { createHash } from 'crypto';
import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { checkDnsSubdomain } from '../../lib/validate';

/** Props of `AppConfig`. */
export interface AppConfigProps {
  /** Name of the ConfigMap (seed 002: "finance-ai-config"). */
  readonly name: string;
  /** Non-secret settings; keys are ConfigMap keys ("log_level"). */
  readonly data: Readonly<Record<string, string>>;
}

const KEY = /^[-._a-zA-Z0-9]{1,253}$/;
const SECRET_LOOKING_KEY = /password|passwd|secret|token|api_?key|private_?key|credential/i;
/** A URL with a user and password in it (`postgresql://user:password@host`). */
const URL_WITH_CREDENTIALS = /[a-z][a-z0-9+.-]*:\/\/[^/\s@:]+:[^/\s@]*@/i;

/**
 * The application's non-secret settings as a ConfigMap (seed 002's ConfigMap, without its
 * credentials): workloads read keys into environment variables through `AppSettings.config`, and
 * their pods carry the data's checksum, so a change rolls them. Keys that name a credential and
 * values holding a URL with a password are refused: those belong in a Secret.
 */
export class AppConfig extends Construct {
  public readonly configMap: k8s.KubeConfigMap;
  public readonly name: string;
  public readonly data: Readonly<Record<string, string>>;
  /** SHA-256 of the data, put on the pods of the workloads that read it. */
  public readonly checksum: string;

  constructor(scope: Construct, id: string, props: AppConfigProps) {
    super(scope, id);
    const path = this.node.path;
    this.name = checkDnsSubdomain(path, 'name', props.name);
    for (const [key, value] of Object.entries(props.data)) {
      if (!KEY.test(key)) throw new ValidationError(path, 'data', key, 'a ConfigMap key of letters, digits, "-", "_" and "."');
      if (typeof value !== 'string') throw new ValidationError(path, `data.${key}`, value, 'a string');
      if (SECRET_LOOKING_KEY.test(key)) throw new ValidationError(path, `data.${key}`, '(value withheld)', 'a non-secret setting; credentials go in a Secret (AppSettings.extraSecretEnv)');
      if (URL_WITH_CREDENTIALS.test(value)) throw new ValidationError(path, `data.${key}`, '(value withheld: a URL with a password)', 'a value without credentials; a URL with a password goes in a Secret');
    }
    this.data = { ...props.data };
    this.checksum = createHash('sha256').update(JSON.stringify(Object.entries(this.data).sort())).digest('hex');
    this.configMap = new k8s.KubeConfigMap(this, 'ConfigMap', { metadata: { name: this.name }, data: { ...this.data } });
  }

  /** An environment variable read from `key`; the key must exist. */
  public envVar(envName: string, key: string): k8s.EnvVar {
    if (!(key in this.data)) throw new ValidationError(this.node.path, `env ${envName}`, key, `one of the ConfigMap's keys: ${Object.keys(this.data).join(', ')}`);
    return { name: envName, valueFrom: { configMapKeyRef: { name: this.name, key } } };
  }
}
