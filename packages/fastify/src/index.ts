export { type PayablePluginOptions, payablePlugin } from './payable-plugin.js';
