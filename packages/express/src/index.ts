export { type PayableRouterOptions, payableRouter } from './payable-router.js';
