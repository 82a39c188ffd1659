export { formatBytes, formatDuration, progressFraction, progressPercent, progressText } from '../engine/index.js';
