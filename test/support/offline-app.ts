export { offlineApp } from '../../dev/offline-app.js';
