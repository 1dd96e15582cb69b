export { answerScrape, serveMetrics } from './http.js';
export { PeercamMetrics } from './metrics.js';
