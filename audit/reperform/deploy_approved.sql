-- deploy.approved, re-performed: was the production deployment approved in the
-- environment review, with no rejection?
--   fail           any `rejected` approval entry naming the deployment's environment
--   not_available  the run's approvals were never captured
--   pass           an `approved` entry naming the environment, by a known login (a deleted
--                  account's approval names nobody)
--   fail           otherwise (nobody approved it)
-- Parameters: :quarter, e.g. '2024Q2'
select p.repository, p.run_id, p.environment,
  case
    when exists (select 1 from approvals a, json_each(a.environments) e
                 where a.repository = p.repository and a.run_id = p.run_id
                   and lower(a.state) = 'rejected' and lower(e.value) = lower(p.environment)) then 'fail'
    when not exists (select 1 from run_captures c
                     where c.repository = p.repository and c.run_id = p.run_id and c.what = 'approvals')
      then 'not_available'
    when exists (select 1 from approvals a, json_each(a.environments) e
                 where a.repository = p.repository and a.run_id = p.run_id
                   and lower(a.state) = 'approved' and lower(e.value) = lower(p.environment)
                   and a.user is not null) then 'pass'
    else 'fail'
  end as verdict
from population p
where p.quarter = :quarter
order by p.repository, p.run_id, p.environment;
