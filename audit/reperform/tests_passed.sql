-- tests.passed, re-performed: did the required test jobs succeed before the deploy job started?
-- Test jobs: the latest execution (highest run_attempt, then job id) of each job name that
-- matches :test_jobs (GLOB patterns, compared in lower case), the deploy job itself excluded.
--   not_available  the run's jobs were never captured
--   fail           no test job; or a test job concluded other than `success`
--   not_available  a test job's conclusion is unknown
--   pass           the deploy job never started (only the conclusions are judged)
--   fail           a test job completed after the deploy job started
--   not_available  a test job's completion time is unknown
--   pass           otherwise
-- Parameters: :quarter, e.g. '2024Q2'; :test_jobs, a JSON array, e.g. '["test", "test (*)"]'
with latest_jobs as (
    select j.* from jobs j
    where not exists (
        select 1 from jobs later
        where later.repository = j.repository and later.run_id = j.run_id and later.name = j.name
          and (coalesce(later.run_attempt, 0) > coalesce(j.run_attempt, 0)
               or (coalesce(later.run_attempt, 0) = coalesce(j.run_attempt, 0) and later.job_id > j.job_id)))
),
judged as (
    select p.repository, p.run_id, p.environment, d.job_id as deploy_job_id, deploy.started_at as deploy_started_at,
           exists (select 1 from run_captures c where c.repository = p.repository and c.run_id = p.run_id
                   and c.what = 'jobs') as jobs_captured
    from population p
    join deployments d on d.deployment_id = p.deployment_id
    left join jobs deploy on deploy.job_id = d.job_id
    where p.quarter = :quarter
),
tests as (
    select t.repository, t.run_id, t.environment, j.conclusion, j.completed_at, t.deploy_started_at
    from judged t
    join latest_jobs j on j.repository = t.repository and j.run_id = t.run_id
    where (t.deploy_job_id is null or j.job_id != t.deploy_job_id)
      and exists (select 1 from json_each(:test_jobs) pattern where lower(j.name) glob lower(pattern.value))
)
select t.repository, t.run_id, t.environment,
  case
    when not t.jobs_captured then 'not_available'
    when not exists (select 1 from tests x where x.repository = t.repository and x.run_id = t.run_id
                     and x.environment = t.environment) then 'fail'
    when exists (select 1 from tests x where x.repository = t.repository and x.run_id = t.run_id
                 and x.environment = t.environment and x.conclusion is not null and x.conclusion != 'success')
      then 'fail'
    when exists (select 1 from tests x where x.repository = t.repository and x.run_id = t.run_id
                 and x.environment = t.environment and x.conclusion is null) then 'not_available'
    when t.deploy_started_at is null then 'pass'
    when exists (select 1 from tests x where x.repository = t.repository and x.run_id = t.run_id
                 and x.environment = t.environment and x.completed_at > t.deploy_started_at) then 'fail'
    when exists (select 1 from tests x where x.repository = t.repository and x.run_id = t.run_id
                 and x.environment = t.environment and x.completed_at is null) then 'not_available'
    else 'pass'
  end as verdict
from judged t
order by t.repository, t.run_id, t.environment;
