// `destroy` with its questions: the confirmation (refused, with what to pass, when nobody can answer) and the
// question about unlabelled volumes (asked even with --yes; kept when nobody can answer). The surface only asks.
import { usageError } from '../core/errors.js';
import type { AppContext } from './context.js';
import type { DestroyPlan } from './destroy.js';
import type { Session } from './session.js';

export interface DestroyInput {
  name?: string | undefined;
  keepWorktree: boolean;
  yes: boolean;
  force: boolean;
}

/** `, and delete its database (1.1 GB) and 2 snapshots`: what a yes also deletes. */
function databaseClause(plan: DestroyPlan): string {
  const d = plan.database;
  if (!d) return '';
  const size = d.bytes === null ? 'size unknown' : `${(d.bytes / 1024 / 1024).toFixed(1)} MB`;
  return `, and delete its database (${size}) and ${d.snapshots} snapshot${d.snapshots === 1 ? '' : 's'}`;
}

function confirmation(session: Session, plan: DestroyPlan): Promise<boolean> {
  const what =
    (plan.removesFolder
      ? `remove ${plan.path} and unregister ${plan.instanceId}`
      : `unregister ${plan.instanceId} (keeping ${plan.path})`) + databaseClause(plan);
  if (!session.interactive) {
    // What a yes would do goes with the refusal, so a surface can ask its own person (the dashboard does).
    throw usageError(
      'confirmation-required',
      `Destroying ${plan.instanceId} needs confirmation, and there is no terminal to ask.`,
      'Pass --yes to confirm (or --force to also skip the unsaved-work check): ' +
        `kinfra sandbox destroy ${plan.instanceId} --yes`,
      {
        wouldDo: `This will ${what}, and remove its containers and volumes.`,
        instanceId: plan.instanceId,
        path: plan.path,
        branch: plan.branch ?? null,
        removesFolder: plan.removesFolder,
        keepReason: plan.keepReason,
        database: plan.database,
      },
    );
  }
  return session.confirm(`This will ${what}. Continue?`);
}

function unlabelledVolumes(session: Session, volumes: readonly string[]): Promise<boolean> {
  if (!session.interactive) return Promise.resolve(false);
  return session.confirm('Remove them too?', [
    'These volumes of its compose project carry no kinfra owner label (made before kinfra labelled its resources, ' +
      'or by someone else):',
    ...volumes.map((v) => `  ${v}`),
  ]);
}

export async function destroyAsking(ctx: AppContext, input: DestroyInput, session: Session) {
  const { destroySandbox } = await import('./destroy.js');
  return destroySandbox(ctx, {
    name: input.name,
    keepWorktree: input.keepWorktree,
    force: input.force,
    confirm: (plan) => (input.force || input.yes ? Promise.resolve(true) : confirmation(session, plan)),
    confirmUnlabelled: (volumes) => unlabelledVolumes(session, volumes),
  });
}
