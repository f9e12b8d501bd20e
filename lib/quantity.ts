import { ValidationError } from './errors';

/**
 * CPU and byte quantities as value types, parsed from and rendered to the Kubernetes quantity
 * grammar. The capacity planner adds them up, so they are kept as integers (millicores, bytes).
 */

const CPU_PATTERN = /^(\d+(?:\.\d+)?)(m?)$/;
const BYTES_PATTERN = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/;
const BYTE_UNITS: Record<string, number> = {
  '': 1,
  'k': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12, 'P': 1e15,
  'Ki': 2 ** 10, 'Mi': 2 ** 20, 'Gi': 2 ** 30, 'Ti': 2 ** 40, 'Pi': 2 ** 50,
};

/** An amount of CPU, in millicores. */
export class CpuQuantity {
  /** `n` millicores (`500` is half a core). */
  public static millis(n: number): CpuQuantity {
    return new CpuQuantity(n);
  }

  /** `n` whole or fractional cores. */
  public static cores(n: number): CpuQuantity {
    return new CpuQuantity(Math.round(n * 1000));
  }

  /** Parses a Kubernetes CPU quantity (`"500m"`, `"2"`, `"0.5"`); `path`/`field` name the prop in errors. */
  public static parse(value: string, path = 'CpuQuantity', field = 'cpu'): CpuQuantity {
    const m = typeof value === 'string' ? CPU_PATTERN.exec(value.trim()) : null;
    if (!m) throw new ValidationError(path, field, value, 'a CPU quantity such as "250m", "1" or "1.5"');
    const n = Number(m[1]);
    const millis = m[2] === 'm' ? n : n * 1000;
    if (!Number.isInteger(millis) || millis <= 0) {
      throw new ValidationError(path, field, value, 'a positive CPU quantity with a resolution of 1m');
    }
    return new CpuQuantity(millis);
  }

  private constructor(public readonly millicores: number) {
    if (!Number.isInteger(millicores) || millicores <= 0) {
      throw new ValidationError('CpuQuantity', 'millicores', millicores, 'a positive integer');
    }
  }

  /** The quantity in cores (may be fractional). */
  public get cores(): number {
    return this.millicores / 1000;
  }

  /** The sum of both. */
  public plus(other: CpuQuantity): CpuQuantity {
    return new CpuQuantity(this.millicores + other.millicores);
  }

  /** This quantity `n` times. */
  public times(n: number): CpuQuantity {
    return new CpuQuantity(Math.round(this.millicores * n));
  }

  /** Renders as Kubernetes writes it: whole cores without a suffix, otherwise millicores. */
  public toString(): string {
    return this.millicores % 1000 === 0 ? String(this.millicores / 1000) : `${this.millicores}m`;
  }
}

/** An amount of memory or storage, in bytes. */
export class ByteQuantity {
  /** `n` MiB. */
  public static mebibytes(n: number): ByteQuantity {
    return new ByteQuantity(Math.round(n * 2 ** 20));
  }

  /** `n` GiB. */
  public static gibibytes(n: number): ByteQuantity {
    return new ByteQuantity(Math.round(n * 2 ** 30));
  }

  /** Parses a Kubernetes byte quantity (`"512Mi"`, `"1Gi"`, `"100G"`); `path`/`field` name the prop in errors. */
  public static parse(value: string, path = 'ByteQuantity', field = 'size'): ByteQuantity {
    const m = typeof value === 'string' ? BYTES_PATTERN.exec(value.trim()) : null;
    if (!m) throw new ValidationError(path, field, value, 'a byte quantity such as "512Mi", "1Gi" or "100G"');
    const bytes = Number(m[1]) * BYTE_UNITS[m[2] ?? ''];
    if (!Number.isFinite(bytes) || bytes < 1 || !Number.isInteger(Math.round(bytes))) {
      throw new ValidationError(path, field, value, 'a positive byte quantity');
    }
    return new ByteQuantity(Math.round(bytes));
  }

  private constructor(public readonly bytes: number) {
    if (!Number.isSafeInteger(bytes) || bytes <= 0) {
      throw new ValidationError('ByteQuantity', 'bytes', bytes, 'a positive integer');
    }
  }

  /** In MiB. */
  public get mebibytes(): number {
    return this.bytes / 2 ** 20;
  }

  /** In GiB. */
  public get gibibytes(): number {
    return this.bytes / 2 ** 30;
  }

  /** The sum of both. */
  public plus(other: ByteQuantity): ByteQuantity {
    return new ByteQuantity(this.bytes + other.bytes);
  }

  /** This quantity `n` times. */
  public times(n: number): ByteQuantity {
    return new ByteQuantity(Math.round(this.bytes * n));
  }

  /** Renders in the largest binary unit that represents the value exactly (`Gi`, `Mi`, `Ki`, bytes). */
  public toString(): string {
    for (const unit of ['Ti', 'Gi', 'Mi', 'Ki'] as const) {
      const size = BYTE_UNITS[unit];
      if (this.bytes % size === 0) return `${this.bytes / size}${unit}`;
    }
    return String(this.bytes);
  }
}
