import { defineCommand } from '../command.ts';
import { isRoleName, ROLE_NAMES, type RoleName } from '../role-names.ts';
import { startSystem } from '../system.ts';
import { ContractError } from '../../../topology/errors.ts';

/** One role against services that are already running (the process of a deployment). */
export const command = defineCommand({
  name: 'run',
  parse(argv): RoleName {
    const role = argv[0];
    if (!role || !isRoleName(role)) throw new ContractError('usage', `run needs a role: ${ROLE_NAMES.join(', ')}`);
    return role;
  },
  async run(role, { out, untilSignal }) {
    const system = await startSystem(out, { roles: [role], profile: 'up', startServices: false, applyTopology: false });
    out.info(`${role} running; health on http://127.0.0.1:${system.healthPort}/readyz`);
    await untilSignal();
    await system.close();
    return 0;
  },
});
