// What `doctor` reports: the findings (after the repairs, with --repair), counted, with whether each is repairable.
import type { AppContext } from './context.js';

export async function doctorReport(ctx: AppContext, req: { repair: boolean }) {
  let findings;
  let repairs: { check: string; message: string; done: boolean; note: string }[] | undefined;
  if (req.repair) {
    const { repairAll } = await import('./doctor-repair.js');
    const r = await repairAll(ctx);
    findings = r.findings;
    repairs = r.repairs.map((x) => ({
      check: x.finding.check,
      message: x.finding.message,
      done: x.done,
      note: x.note,
    }));
  } else {
    const { diagnoseAll } = await import('./doctor.js');
    findings = await diagnoseAll(ctx);
  }
  const problems = findings.filter((f) => f.status === 'problem').length;
  const warnings = findings.filter((f) => f.status === 'warn').length;
  return {
    healthy: problems === 0,
    problems,
    warnings,
    findings: findings.map(({ repair, ...f }) => ({ ...f, repairable: repair !== undefined })),
    ...(repairs ? { repairs } : {}),
  };
}
