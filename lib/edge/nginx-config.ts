import { ValidationError } from '../errors';
import { ByteQuantity } from '../quantity';
import { checkPort } from '../validate';

/** TLS versions nginx may offer. 1.0 and 1.1 are refused (seed 000 §8.1: TLS 1.2/1.3). */
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** An upstream server `host:port`, with nginx's passive health check. */
export interface UpstreamServer {
  readonly address: string;
  /** Failed attempts within `failTimeoutSeconds` that take the server out (seed 004: 3). */
  readonly maxFails: number;
  /** Seconds a failed server stays out (seed 004: 30 s). */
  readonly failTimeoutSeconds: number;
}

/** What nginx.conf is rendered from. */
export interface NginxConfigOptions {
  /** Unprivileged port for plain HTTP (redirects only). */
  readonly httpPort: number;
  /** Unprivileged port for HTTPS. */
  readonly httpsPort: number;
  /** Port of the health and stub_status server, for probes and the exporter; never exposed by the Service. */
  readonly statusPort: number;
  readonly tlsVersions: readonly TlsVersion[];
  /** Folder holding tls.crt and tls.key (the Secret's keys). */
  readonly tlsDir: string;
  readonly upstream: UpstreamServer;
  /** Served only while `upstream` is out (seed 004: the API's backup instance). */
  readonly backupUpstream?: UpstreamServer;
  /** Response headers on every HTTPS response, `name → value`. */
  readonly securityHeaders: Readonly<Record<string, string>>;
  readonly clientMaxBodySize: ByteQuantity;
  readonly proxyConnectTimeoutSeconds: number;
  readonly proxyReadTimeoutSeconds: number;
  /** Paths of the app never served to the outside (its metrics). */
  readonly blockedPaths: readonly string[];
  /** Pass WebSocket upgrades through (Upgrade and Connection headers); plain requests keep upstream keepalive. @default false */
  readonly websocket?: boolean;
}

/** Mozilla's "intermediate" TLS 1.2 cipher list (TLS 1.3 suites are not configurable here). */
export const MODERN_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
];

/** The security headers of seed 001 (HSTS, CSP) and their usual companions. */
export const DEFAULT_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'strict-origin-when-cross-origin',
};

const HEADER_NAME = /^[A-Za-z0-9-]{1,64}$/;
// Printable ASCII without the double quote (it would end nginx's quoted string) or a backslash.
const HEADER_VALUE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,2048}$/;
const HOST_PORT = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?|\d{1,3}(\.\d{1,3}){3}):(\d{1,5})$/;

/** Checks an upstream address: `host:port`, a port in range. */
export function checkUpstream(path: string, field: string, address: string): string {
  const m = HOST_PORT.exec(address);
  if (!m) throw new ValidationError(path, field, address, 'an upstream "host:port", e.g. "quality-billing-api:8000"');
  checkPort(path, `${field} port`, Number(m[4]));
  return address;
}

/** Checks the options; every error names the field and what is allowed. */
export function checkNginxOptions(path: string, o: NginxConfigOptions): NginxConfigOptions {
  for (const [field, port] of [['httpPort', o.httpPort], ['httpsPort', o.httpsPort], ['statusPort', o.statusPort]] as const) {
    checkPort(path, field, port);
    if (port < 1024) throw new ValidationError(path, field, port, 'an unprivileged port (1024-65535): the edge runs as non-root');
  }
  if (o.tlsVersions.length === 0 || o.tlsVersions.some(v => v !== 'TLSv1.2' && v !== 'TLSv1.3')) {
    throw new ValidationError(path, 'tlsVersions', o.tlsVersions, 'a non-empty list of "TLSv1.2" and "TLSv1.3" (1.0 and 1.1 are broken)');
  }
  checkUpstream(path, 'upstream', o.upstream.address);
  if (o.backupUpstream) checkUpstream(path, 'backupUpstream', o.backupUpstream.address);
  for (const [name, value] of Object.entries(o.securityHeaders)) {
    if (!HEADER_NAME.test(name)) throw new ValidationError(path, 'securityHeaders', name, 'a header name of letters, digits and "-"');
    if (!HEADER_VALUE.test(value)) throw new ValidationError(path, `securityHeaders.${name}`, value, 'a header value of printable ASCII without \'"\' or \'\\\', at most 2048 characters');
  }
  return o;
}

/**
 * Renders nginx.conf for the edge: HTTP redirects to HTTPS; HTTPS (TLS 1.2/1.3, modern ciphers)
 * proxies to the upstream with X-Forwarded-* and X-Request-ID, retrying the backup server on a
 * connection error or 502/503/504, with the security headers on every response. Temporary files
 * and the pid live under /tmp so the root filesystem can be read-only.
 */
export function renderNginxConf(o: NginxConfigOptions): string {
  const server = (u: UpstreamServer, backup = false) => `server ${u.address} max_fails=${u.maxFails} fail_timeout=${u.failTimeoutSeconds}s${backup ? ' backup' : ''};`;
  const headers = Object.entries(o.securityHeaders).map(([k, v]) => `    add_header ${k} "${v}" always;`);
  const kib = Math.ceil(o.clientMaxBodySize.bytes / 1024);
  return `# Generated by quality-billing-infra: edit the NginxEdge construct props, not this file.
worker_processes auto;
pid /tmp/nginx.pid;
error_log /dev/stderr warn;

events {
  worker_connections 4096;
}

http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  client_body_temp_path /tmp/client_temp;
  proxy_temp_path /tmp/proxy_temp;
  fastcgi_temp_path /tmp/fastcgi_temp;
  uwsgi_temp_path /tmp/uwsgi_temp;
  scgi_temp_path /tmp/scgi_temp;

  # A request ID from the client is kept; otherwise nginx makes one (seed 000 §7.1 request_id).
  map $http_x_request_id $req_id {
    default $http_x_request_id;
    "" $request_id;
  }
  log_format json escape=json '{"time":"$time_iso8601","request_id":"$req_id","remote_addr":"$remote_addr",'
    '"method":"$request_method","uri":"$request_uri","status":$status,"bytes":$body_bytes_sent,'
    '"duration_ms":$request_time,"upstream":"$upstream_addr","upstream_status":"$upstream_status"}';
  access_log /dev/stdout json;

  server_tokens off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65s;
  client_max_body_size ${kib}k;
  gzip on;
  gzip_vary on;
  gzip_proxied any;
  gzip_min_length 1024;
  gzip_types application/json application/javascript text/css text/plain text/xml application/xml;

${o.websocket ? `  # WebSocket: forward the client's Upgrade; other requests send an empty Connection (keepalive).
  map $http_upgrade $connection_upgrade {
    default upgrade;
    "" "";
  }

` : ''}  upstream app {
    ${server(o.upstream)}${o.backupUpstream ? `\n    ${server(o.backupUpstream, true)}` : ''}
    keepalive 32;
  }

  server {
    listen ${o.httpPort} default_server;
    location / {
      return 301 https://$host$request_uri;
    }
  }

  server {
    listen ${o.httpsPort} ssl http2 default_server;
    ssl_certificate ${o.tlsDir}/tls.crt;
    ssl_certificate_key ${o.tlsDir}/tls.key;
    ssl_protocols ${o.tlsVersions.join(' ')};
    ssl_ciphers ${MODERN_TLS12_CIPHERS.join(':')};
    ssl_prefer_server_ciphers off;
    ssl_session_cache shared:TLS:10m;
    ssl_session_timeout 1d;
    ssl_session_tickets off;

${headers.join('\n')}

${o.blockedPaths.map(p => `    location = ${p} {\n      return 404;\n    }`).join('\n')}

    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
${o.websocket ? `      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;` : `      proxy_set_header Connection "";`}
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header X-Request-ID $req_id;
      add_header X-Request-ID $req_id always;
${headers.map(h => `  ${h}`).join('\n')}
      proxy_connect_timeout ${o.proxyConnectTimeoutSeconds}s;
      proxy_send_timeout ${o.proxyReadTimeoutSeconds}s;
      proxy_read_timeout ${o.proxyReadTimeoutSeconds}s;
      # Seed 004: fail over to the backup server without failing the request.
      proxy_next_upstream error timeout http_502 http_503 http_504;
      proxy_next_upstream_tries 2;
    }
  }

  server {
    listen ${o.statusPort};
    access_log off;
    location = /healthz {
      return 200 "ok\\n";
    }
    location = /stub_status {
      stub_status;
      allow 127.0.0.1;
      deny all;
    }
  }
}
`;
}
