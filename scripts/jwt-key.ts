import { writeFileSync } from 'node:fs';
import { generateSigningKeyPem, signingKeyOf, SIGNING_ALGORITHMS, type SigningAlgorithm } from '../shared/signing-keys';

/**
 * `npm run jwt-key -- <file> [EdDSA|RS256]`: writes a new private signing key for the auth
 * subgraph (PKCS#8 PEM, mode 0600, never overwriting a file) and prints its kid, for
 * `JWT_SIGNING_KEY_FILES` (docs/authentication.md#rotating-the-signing-key).
 */
const [file, algorithm = 'EdDSA'] = process.argv.slice(2);
if (!file || !(SIGNING_ALGORITHMS as readonly string[]).includes(algorithm)) {
  console.error(`usage: npm run jwt-key -- <file> [${SIGNING_ALGORITHMS.join('|')}]`);
  process.exit(2);
}
const pem = generateSigningKeyPem(algorithm as SigningAlgorithm);
writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
console.log(`jwt-key: wrote ${file} (${algorithm}, kid ${signingKeyOf(pem).kid})`);
