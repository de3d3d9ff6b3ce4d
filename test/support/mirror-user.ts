export { mirrorUser } from '../../dev/fixtures/mirror-user.js';
