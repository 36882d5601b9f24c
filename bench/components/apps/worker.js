// workerd module worker around the same handlers (apps/hello.js,
// apps/transform.js): GET -> hello, POST -> the JSON transform.
import { hello } from './hello.js';
import { transform } from './transform.js';

export default {
  async fetch(request) {
    return request.method === 'POST' ? transform(request) : hello(request);
  },
};
