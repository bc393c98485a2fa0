import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createSecureContext, TlsOptions } from 'node:tls';
import { ConfigError } from '../server/errors';
import { Logger } from '../util/logger';

/** etcd's TLS flags for one side (clients: --cert-file ...; peers: --peer-cert-file ...). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  trustedCaFile?: string;
  /** --client-cert-auth: a client must present a certificate signed by the trusted CA. */
  clientCertAuth: boolean;
}

/** Server TLS options as read from the files, which also serve to dial (peers). */
export interface LoadedTls extends TlsOptions {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/**
 * Reads the files into server TLS options, failing with the flag and the reason when one is
 * missing, unreadable, expired, or when the key does not match the certificate.
 */
export function loadTlsOptions(files: TlsFiles, flagPrefix: string, now = new Date()): LoadedTls {
  const read = (path: string, flag: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`cannot read --${flagPrefix}${flag} "${path}": ${(err as Error).message}`);
    }
  };
  const cert = read(files.certFile, 'cert-file');
  const key = read(files.keyFile, 'key-file');
  const ca = files.trustedCaFile === undefined ? undefined : read(files.trustedCaFile, 'trusted-ca-file');
  let validTo: Date;
  try {
    validTo = new Date(new X509Certificate(cert).validTo);
  } catch (err) {
    throw new ConfigError(`--${flagPrefix}cert-file "${files.certFile}" is not a PEM certificate: ${(err as Error).message}`);
  }
  if (validTo < now) throw new ConfigError(`--${flagPrefix}cert-file "${files.certFile}" expired on ${validTo.toISOString()}`);
  const options: LoadedTls = {
    cert, key, ...(ca === undefined ? {} : { ca }),
    requestCert: files.clientCertAuth, rejectUnauthorized: files.clientCertAuth,
  };
  try {
    createSecureContext(options);
  } catch (err) {
    throw new ConfigError(`cannot use --${flagPrefix}cert-file "${files.certFile}" with --${flagPrefix}key-file "${files.keyFile}": ${(err as Error).message}`);
  }
  return options;
}

/** How often the certificate files are looked at for changes. */
const RELOAD_CHECK_MS = 1000;

/**
 * Calls `reload` with fresh options whenever one of the files changes, so a renewed certificate
 * is served without a restart. A change that does not load (a key written before its certificate,
 * say) keeps the old certificate and is logged; the next change is tried again. Returns a stop.
 */
export function watchTlsFiles(files: TlsFiles, flagPrefix: string, reload: (options: LoadedTls) => void, log: Logger): () => void {
  const paths = [files.certFile, files.keyFile, ...(files.trustedCaFile === undefined ? [] : [files.trustedCaFile])];
  const changed = () => {
    try {
      reload(loadTlsOptions(files, flagPrefix));
      log.info('reloaded TLS certificate', { 'cert-file': files.certFile, 'key-file': files.keyFile });
    } catch (err) {
      log.error('cannot reload TLS certificate; keeping the one in use', { error: (err as Error).message });
    }
  };
  for (const p of paths) watchFile(p, { interval: RELOAD_CHECK_MS, persistent: false }, changed);
  return () => paths.forEach((p) => unwatchFile(p, changed));
}
