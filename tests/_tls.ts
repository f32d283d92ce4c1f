/**
 * Test certificates, made fresh with `openssl`: a self-signed CA and a leaf
 * for `localhost` and 127.0.0.1 signed by it, in a temporary directory.
 */

/** The files of {@linkcode makeCerts}, and their PEM text. */
export interface TestCerts extends AsyncDisposable {
  dir: string;
  caPath: string;
  certPath: string;
  keyPath: string;
  /** The CA certificate, to trust. */
  ca: string;
  /** The hub's certificate, signed by the CA. */
  cert: string;
  /** The hub's private key. */
  key: string;
}

const LEAF_EXTENSIONS = `basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
`;

async function openssl(dir: string, args: string[]): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error(
      "Cannot make test certificates: openssl is not installed (apt-get install openssl)",
    );
  }
  if (!out.success) {
    throw new Error(
      `openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

/**
 * Makes a CA and a leaf certificate (EC P-256, valid two days) in a new
 * temporary directory, which disposing removes.
 */
export async function makeCerts(): Promise<TestCerts> {
  const dir = await Deno.makeTempDir({ prefix: "msghub-tls-" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
  try {
    await openssl(dir, [
      "req",
      "-x509",
      ...ec,
      "-nodes",
      "-sha256",
      "-days",
      "2",
      "-subj",
      "/CN=msghub test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
    ]);
    await openssl(dir, [
      "req",
      "-new",
      ...ec,
      "-nodes",
      "-subj",
      "/CN=localhost",
      "-keyout",
      "hub.key",
      "-out",
      "hub.csr",
    ]);
    await Deno.writeTextFile(`${dir}/hub.ext`, LEAF_EXTENSIONS);
    await openssl(dir, [
      "x509",
      "-req",
      "-sha256",
      "-days",
      "2",
      "-in",
      "hub.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-extfile",
      "hub.ext",
      "-out",
      "hub.pem",
    ]);
    const read = (name: string) => Deno.readTextFile(`${dir}/${name}`);
    return {
      dir,
      caPath: `${dir}/ca.pem`,
      certPath: `${dir}/hub.pem`,
      keyPath: `${dir}/hub.key`,
      ca: await read("ca.pem"),
      cert: await read("hub.pem"),
      key: await read("hub.key"),
      [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}
