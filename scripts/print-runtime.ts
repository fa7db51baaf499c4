/**
 * @module
 * Prints the Node.js runtime that `npm test` runs on, so every CI log shows it
 * (the project pins Node 24 as a devDependency; the machine's own Node may be older).
 */
const major = Number(process.versions.node.split('.')[0]);
console.log(`cloud-egress tests on Node ${process.version} (${process.execPath})`);
if (major < 24) {
  console.error(
    'Node 24 or newer is required: run the tests through npm (npm test) so the pinned Node is used.',
  );
  process.exit(1);
}
