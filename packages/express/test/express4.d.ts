// `express4` is Express 4 installed under an alias (devDependency "express4": "npm:express@^4"), so
// the adapter's tests run against both majors. Its API is typed with Express's own types.
declare module 'express4' {
  import express = require('express');
  export = express;
}
