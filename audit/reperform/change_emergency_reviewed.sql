-- change.emergency_reviewed, re-performed: was an emergency change approved in a pull request
-- by someone other than its author within the review window after deploying?
--   emergency       head branch matches :emergency_branches (GLOB, case-sensitive like git), or a
--                   pull request of the deployed commit carries a label in :emergency_labels
--                   (case-insensitive)
--   not_available   labels configured but not captured, and the branch does not say emergency
--   not_applicable  not an emergency
--   not_available   emergency, the commit's pull requests never captured
--   deployed_at     the production deploy job's completed_at, else started_at, else the run's created_at
--   approval        per PR, each reviewer's latest review that is not COMMENTED/PENDING, by anyone
--                   but the PR author, in state APPROVED; the earliest one over the commit's PRs counts
--   pass / fail     approval <= deployed_at + :emergency_review_days days (the boundary passes)
--   not_available   no approval, and some PR's reviews were never captured or captured before the deadline
--   fail            no approval (never reviewed)
-- Parameters: :quarter, e.g. '2024Q2'; :emergency_branches, a JSON array, e.g. '["hotfix/*"]';
--   :emergency_labels, a JSON array ('[]' = none); :emergency_review_days, e.g. 3
with deployed as (
    select p.repository, p.run_id, p.environment, r.head_branch, r.head_sha,
           cast(strftime('%s', coalesce(j.completed_at, j.started_at, r.created_at)) as integer)
             + :emergency_review_days * 86400 as deadline,
           exists (select 1 from commit_pulls c where c.repository = r.repository and c.sha = r.head_sha)
             as pulls_captured
    from population p
    join workflow_runs r on r.repository = p.repository and r.run_id = p.run_id
    join deployments d on d.deployment_id = p.deployment_id
    left join jobs j on j.job_id = d.job_id
    where p.quarter = :quarter
),
commit_prs as (
    select x.repository, x.run_id, x.environment, pr.number, pr.author, pr.labels, pr.reviews_captured_at
    from deployed x
    join commit_pulls c on c.repository = x.repository and c.sha = x.head_sha, json_each(c.pr_numbers) n
    join pull_requests pr on pr.repository = x.repository and pr.number = n.value
),
latest as (
    select rv.repository, rv.pr_number, rv.state, rv.submitted_at,
           row_number() over (partition by rv.repository, rv.pr_number, lower(rv.user)
                              order by rv.submitted_at desc, rv.review_id desc) as recency
    from reviews rv
    join pull_requests pr on pr.repository = rv.repository and pr.number = rv.pr_number
    where rv.user is not null and lower(rv.user) is not lower(pr.author)
      and upper(rv.state) not in ('COMMENTED', 'PENDING')
),
judged as (
    select x.*,
           x.head_branch is not null
             and exists (select 1 from json_each(:emergency_branches) b where x.head_branch glob b.value)
             as by_branch,
           exists (select 1 from commit_prs cp, json_each(cp.labels) l, json_each(:emergency_labels) w
                   where cp.repository = x.repository and cp.run_id = x.run_id and cp.environment = x.environment
                     and lower(l.value) = lower(w.value)) as by_label,
           json_array_length(:emergency_labels) > 0 and (not x.pulls_captured or exists (
               select 1 from commit_prs cp where cp.repository = x.repository and cp.run_id = x.run_id
                 and cp.environment = x.environment and cp.labels is null)) as labels_unknown,
           (select min(cast(strftime('%s', l.submitted_at) as integer)) from commit_prs cp
            join latest l on l.repository = cp.repository and l.pr_number = cp.number
            where cp.repository = x.repository and cp.run_id = x.run_id and cp.environment = x.environment
              and l.recency = 1 and upper(l.state) = 'APPROVED' and l.submitted_at is not null) as approved_at,
           exists (select 1 from commit_prs cp where cp.repository = x.repository and cp.run_id = x.run_id
                     and cp.environment = x.environment
                     and (cp.reviews_captured_at is null
                          or cast(strftime('%s', cp.reviews_captured_at) as integer) < x.deadline))
             as reviews_incomplete
    from deployed x
)
select repository, run_id, environment,
  case
    when not by_branch and not by_label then case when labels_unknown then 'not_available' else 'not_applicable' end
    when not pulls_captured then 'not_available'
    when deadline is null then 'not_available'
    when approved_at is null then case when reviews_incomplete then 'not_available' else 'fail' end
    when approved_at <= deadline then 'pass'
    else 'fail'
  end as verdict
from judged
order by repository, run_id, environment;
