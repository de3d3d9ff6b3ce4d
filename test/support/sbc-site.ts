export { sbcSite } from '../../dev/fixtures/sbc-site.js';
