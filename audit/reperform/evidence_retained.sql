-- evidence.retained, re-performed: was all the run's evidence captured before GitHub expired it?
-- Evidence: the run's environment approvals, the production deployment's statuses, and every
-- artifact that was, or may have been, a scan report (the rule of scan_clean.sql, step 2).
--   fail           the approvals were never captured (and GitHub neither refused them nor answered
--                  unreadably), the statuses were never captured (likewise), or such an artifact was
--                  lost (capture_status not 'captured' or 'not_scan')
--   not_available  only the approvals or the statuses are missing, and GitHub refused them to
--                  the token or answered unreadably (degraded_lookups): not lost, a later capture
--                  (with the permission) can capture them
--   pass           otherwise
-- Parameters: :quarter, e.g. '2024Q2'
select p.repository, p.run_id, p.environment,
  case
    when not exists (select 1 from run_captures c where c.repository = p.repository and c.run_id = p.run_id
                     and c.what = 'approvals')
     and not exists (select 1 from degraded_lookups g where g.repository = p.repository and g.piece = 'approvals'
                     and g.subject = cast(p.run_id as text) and g.outcome = 'unavailable') then 'fail'
    when d.statuses_captured_at is null
     and not exists (select 1 from degraded_lookups g where g.repository = p.repository and g.piece = 'statuses'
                     and g.subject = cast(p.deployment_id as text) and g.outcome = 'unavailable') then 'fail'
    when exists (
        select 1 from artifacts a
        where a.repository = p.repository and a.run_id = p.run_id
          and (a.capture_status is null or a.capture_status not in ('captured', 'not_scan'))
          and (a.scan_format is not null
               or exists (select 1 from json_each('["scan", "sarif", "bandit", "audit", "safety", "secur", "vuln",
                                                   "sast", "codeql", "trivy", "semgrep", "grype", "snyk"]') word
                          where instr(lower(a.name), word.value))
               or not exists (select 1 from json_each('["coverage", "cov-report", "htmlcov", "junit",
                                                       "test-results", "build", "dist", "wheel", "docs"]') word
                              where instr(lower(a.name), word.value)))) then 'fail'
    when not exists (select 1 from run_captures c where c.repository = p.repository and c.run_id = p.run_id
                     and c.what = 'approvals') then 'not_available'
    when d.statuses_captured_at is null then 'not_available'
    else 'pass'
  end as verdict
from population p
join deployments d on d.deployment_id = p.deployment_id
where p.quarter = :quarter
order by p.repository, p.run_id, p.environment;
