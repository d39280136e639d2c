-- scan.clean, re-performed: is security-scan evidence present for the run, with no finding at
-- or above :max_severity? Decided in this order:
--   1. scan reports captured (artifacts.capture_status = 'captured' with a recognised
--      scan_format): fail when a finding's severity ranks at or above :max_severity on
--      low < medium < high < critical (an unknown severity ranks high); else not_available
--      when the scan evidence is incomplete (a captured artifact has scan_gaps, or a lost
--      artifact has a recognised format or a scan-like word in its name); else pass;
--   2. not_available when an artifact that was, or may have been, a scan report was lost
--      (capture_status not 'captured' or 'not_scan'): a recognised format, or a name with a
--      scan-like word, or a name that does not plainly say coverage/tests/build/docs;
--   3. the latest execution of each job matching :scan_jobs (GLOB patterns, lower case; the
--      deploy job excluded): any concluded other than success -> fail, any conclusion
--      unknown -> not_available, else pass ("job conclusion only");
--   4. the run's jobs never captured -> not_available; otherwise fail.
-- Parameters: :quarter, e.g. '2024Q2'; :max_severity, e.g. 'high';
--             :scan_jobs, a JSON array, e.g. '["security-scan", "security-scan (*)"]'
with deployment as (
    select p.repository, p.run_id, p.environment, d.job_id as deploy_job_id,
           exists (select 1 from run_captures c where c.repository = p.repository and c.run_id = p.run_id
                   and c.what = 'jobs') as jobs_captured
    from population p
    join deployments d on d.deployment_id = p.deployment_id
    where p.quarter = :quarter
),
reports as (
    select a.repository, a.run_id, count(*) as reports,
           max(exists (
               select 1 from scan_findings f
               where f.artifact_id = a.artifact_id
                 and case lower(f.severity) when 'low' then 0 when 'medium' then 1 when 'critical' then 3 else 2 end
                     >= case lower(:max_severity) when 'low' then 0 when 'medium' then 1 when 'high' then 2 else 3 end
           )) as serious,
           max(a.scan_gaps is not null) as incomplete
    from artifacts a
    where a.capture_status = 'captured' and a.scan_format is not null
    group by a.repository, a.run_id
),
lost_artifacts as (
    select a.repository, a.run_id,
           a.scan_format is not null
           or exists (select 1 from json_each('["scan", "sarif", "bandit", "audit", "safety", "secur", "vuln",
                                               "sast", "codeql", "trivy", "semgrep", "grype", "snyk"]') word
                      where instr(lower(a.name), word.value)) as meant_as_report,
           not exists (select 1 from json_each('["coverage", "cov-report", "htmlcov", "junit", "test-results",
                                                "build", "dist", "wheel", "docs"]') word
                       where instr(lower(a.name), word.value)) as not_plainly_other
    from artifacts a
    where a.capture_status is null or a.capture_status not in ('captured', 'not_scan')
),
lost as (
    select repository, run_id, max(meant_as_report) as meant_as_report,
           max(meant_as_report or not_plainly_other) as possible
    from lost_artifacts
    group by repository, run_id
),
latest_jobs as (
    select j.*, row_number() over (partition by j.repository, j.run_id, j.name
                                   order by coalesce(j.run_attempt, 0) desc, j.job_id desc) as recency
    from jobs j
),
scan_jobs as (
    select d.repository, d.run_id, d.environment, count(*) as scan_jobs,
           sum(j.conclusion is not null and j.conclusion != 'success') as failed,
           sum(j.conclusion is null) as unknown
    from deployment d
    join latest_jobs j on j.repository = d.repository and j.run_id = d.run_id
    where j.recency = 1 and j.job_id is not d.deploy_job_id
      and exists (select 1 from json_each(:scan_jobs) pattern where lower(j.name) glob lower(replace(pattern.value, '[!', '[^')))
    group by d.repository, d.run_id, d.environment
)
select d.repository, d.run_id, d.environment,
  case
    when r.serious then 'fail'
    when r.reports and (r.incomplete or l.meant_as_report) then 'not_available'
    when r.reports then 'pass'
    when l.possible then 'not_available'
    when s.failed then 'fail'
    when s.unknown then 'not_available'
    when s.scan_jobs then 'pass'
    when not d.jobs_captured then 'not_available'
    else 'fail'
  end as verdict
from deployment d
left join reports r on r.repository = d.repository and r.run_id = d.run_id
left join lost l on l.repository = d.repository and l.run_id = d.run_id
left join scan_jobs s on s.repository = d.repository and s.run_id = d.run_id and s.environment = d.environment
order by d.repository, d.run_id, d.environment;
