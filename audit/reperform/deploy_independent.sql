-- deploy.independent, re-performed: is every deployment approver someone other than the
-- run's actor, its triggering actor and the PR author? (logins compare case-insensitively)
-- A deployment approver: an `approved` entry of the run's approvals naming the deployment's
-- environment; the PR as in change_reviewed.sql.
--   not_available   the run's approvals were never captured
--   not_applicable  nobody approved the deployment (deploy.approved fails it)
--   fail            an approver is the actor, the triggering actor or the PR author
--   not_available   the deployed commit's pull requests (hence the PR author) were never captured
--   pass            otherwise
-- Parameters: :quarter, e.g. '2024Q2'
with deployment as (
    select p.repository, p.run_id, p.environment, r.actor, r.triggering_actor,
           cp.sha is not null as pulls_captured,
           exists (select 1 from run_captures c where c.repository = p.repository and c.run_id = p.run_id
                   and c.what = 'approvals') as approvals_captured,
           coalesce(
               (select pr.number
                  from json_each(cp.pr_numbers) listed
                  join pull_requests pr on pr.repository = p.repository and pr.number = listed.value
                 where coalesce(pr.merged_at, '') != '' and pr.merge_commit_sha = r.head_sha
                 order by listed.key limit 1),
               (select pr.number
                  from json_each(cp.pr_numbers) listed
                  join pull_requests pr on pr.repository = p.repository and pr.number = listed.value
                 where coalesce(pr.merged_at, '') != ''
                 order by listed.key limit 1)) as pr_number
    from population p
    join workflow_runs r on r.repository = p.repository and r.run_id = p.run_id
    left join commit_pulls cp on cp.repository = p.repository and cp.sha = r.head_sha
    where p.quarter = :quarter
),
with_author as (
    select d.*, pr.author as pr_author
    from deployment d
    left join pull_requests pr on pr.repository = d.repository and pr.number = d.pr_number
),
deploy_approvers as (
    select d.repository, d.run_id, d.environment, lower(ap.user) as login,
           lower(ap.user) in (lower(d.actor), lower(d.triggering_actor), lower(d.pr_author)) as involved
    from with_author d
    join approvals ap on ap.repository = d.repository and ap.run_id = d.run_id
    where ap.user is not null and lower(ap.state) = 'approved'
      and exists (select 1 from json_each(ap.environments) e where lower(e.value) = lower(d.environment))
)
select d.repository, d.run_id, d.environment,
  case
    when not d.approvals_captured then 'not_available'
    when not exists (select 1 from deploy_approvers a where a.repository = d.repository
                     and a.run_id = d.run_id and a.environment = d.environment) then 'not_applicable'
    when exists (select 1 from deploy_approvers a where a.repository = d.repository
                 and a.run_id = d.run_id and a.environment = d.environment and a.involved) then 'fail'
    when not d.pulls_captured then 'not_available'
    else 'pass'
  end as verdict
from with_author d
order by d.repository, d.run_id, d.environment;
