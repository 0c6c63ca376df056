import { InitialSchema1732400000000 } from './1732400000000-initial-schema';

/** Every migration, oldest first. */
export const migrations = [InitialSchema1732400000000];
