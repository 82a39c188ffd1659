export { formatBytes, formatDuration, formatRate } from '../engine/index.js';
