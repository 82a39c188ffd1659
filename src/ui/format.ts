export { formatBytes, formatDuration } from '../engine/index.js';
