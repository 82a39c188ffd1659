export { formatBytes, formatDuration, progressFigures, progressFraction, progressPercent, progressText, type ProgressFigures } from '../engine/index.js';
