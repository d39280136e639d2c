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
with deployment as (
    select p.repository, p.run_id, p.environment, d.job_id as deploy_job_id, deploy.started_at as deploy_started_at,
           exists (select 1 from run_captures c where c.repository = p.repository and c.run_id = p.run_id
                   and c.what = 'jobs') as jobs_captured
    from population p
    join deployments d on d.deployment_id = p.deployment_id
    left join jobs deploy on deploy.job_id = d.job_id
    where p.quarter = :quarter
),
latest_jobs as (
    select j.*, row_number() over (partition by j.repository, j.run_id, j.name
                                   order by coalesce(j.run_attempt, 0) desc, j.job_id desc) as recency
    from jobs j
),
tests as (
    select d.repository, d.run_id, d.environment, count(*) as test_jobs,
           sum(j.conclusion is not null and j.conclusion != 'success') as failed,
           sum(j.conclusion is null) as unknown_conclusion,
           sum(j.completed_at > d.deploy_started_at) as completed_late,
           sum(j.completed_at is null) as unknown_completion
    from deployment d
    join latest_jobs j on j.repository = d.repository and j.run_id = d.run_id
    where j.recency = 1 and j.job_id is not d.deploy_job_id
      and exists (select 1 from json_each(:test_jobs) pattern where lower(j.name) glob lower(replace(pattern.value, '[!', '[^')))
    group by d.repository, d.run_id, d.environment
)
select d.repository, d.run_id, d.environment,
  case
    when not d.jobs_captured then 'not_available'
    when t.test_jobs is null then 'fail'
    when t.failed then 'fail'
    when t.unknown_conclusion then 'not_available'
    when d.deploy_started_at is null then 'pass'
    when t.completed_late then 'fail'
    when t.unknown_completion then 'not_available'
    else 'pass'
  end as verdict
from deployment d
left join tests t on t.repository = d.repository and t.run_id = d.run_id and t.environment = d.environment
order by d.repository, d.run_id, d.environment;
