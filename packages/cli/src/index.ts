export { type CliIo, knexFromUrl, runCli } from './run-cli.js';
