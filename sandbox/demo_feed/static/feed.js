// Infinite scroll for a tag feed: fetch the next page of posts when the sentinel comes into view.
// Posts are built with textContent, never innerHTML, so captions stay text.
(function () {
  "use strict";
  const feed = document.getElementById("feed");
  const sentinel = document.getElementById("sentinel");
  let nextPage = 1;
  let loading = false;

  function node(tag, props, children) {
    const el = document.createElement(tag);
    Object.entries(props || {}).forEach(([k, v]) => {
      if (k === "text") el.textContent = v;
      else if (k === "dataset") Object.assign(el.dataset, v);
      else el.setAttribute(k, v);
    });
    (children || []).forEach((c) => el.appendChild(c));
    return el;
  }

  function card(p) {
    const img = node("img", {
      class: "post-image", src: p.thumb, srcset: p.srcset, alt: p.caption, width: "320",
      height: "400", loading: "lazy", sizes: "(max-width: 700px) 45vw, 320px",
    });
    return node("article", { class: "post", dataset: { postId: p.id } }, [
      node("a", { class: "post-link", href: p.url }, [img]),
      node("div", { class: "meta" }, [
        node("span", { class: "user", text: "@" + p.user }),
        node("time", { datetime: p.posted_at, text: p.posted_label }),
        node("span", { class: "likes", dataset: { likes: String(p.likes) }, text: "♥ " + p.likes }),
        node("a", { class: "licence", rel: "license", href: p.licence_url, text: "CC0" }),
      ]),
      node("p", { class: "caption", text: p.caption }),
    ]);
  }

  function nearBottom() {
    return sentinel.getBoundingClientRect().top < window.innerHeight + 400;
  }

  async function loadMore() {
    if (loading || nextPage === null) return;
    loading = true;
    sentinel.textContent = "Loading…";
    try {
      const response = await fetch(feed.dataset.api + "?page=" + nextPage);
      if (!response.ok) throw new Error("HTTP " + response.status);
      const data = await response.json();
      data.posts.forEach((p) => feed.appendChild(card(p)));
      nextPage = data.next_page;
      sentinel.textContent = nextPage === null ? "You're all caught up." : "";
    } catch (err) {
      sentinel.textContent = "Could not load more posts (" + err.message + ").";
      nextPage = null;
    } finally {
      loading = false;
    }
    if (nextPage !== null && nearBottom()) loadMore();
  }

  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMore();
  }, { rootMargin: "400px" }).observe(sentinel);
})();
